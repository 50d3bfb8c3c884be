using System.Diagnostics;
using EventImaging.Core.Ledger;

namespace EventImaging.Core.Telemetry;

/// <summary>
/// EventImaging's own spans. A request's callback and polls arrive minutes later, in another process, as
/// unrelated work; their spans are made children of the W3C context stored with the request, so one trace
/// leads from the publisher's command to the final event. The span that delivered them (the callback's HTTP
/// request, the poll cycle) is kept as a link.
/// </summary>
public static class RequestTracing
{
    public const string SourceName = "EventImaging";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts a span in the trace of <paramref name="row"/>'s command (or under the current span when there is none).</summary>
    public static Activity? StartInRequestTrace(string name, ImageRequest row, ActivityKind kind = ActivityKind.Internal)
    {
        var delivering = Activity.Current;
        if (row.TraceParent is null || !ActivityContext.TryParse(row.TraceParent, row.TraceState, isRemote: true, out var parent))
        {
            return Tag(Source.StartActivity(name, kind), row);
        }

        ActivityLink[]? links = delivering is null ? null : [new ActivityLink(delivering.Context)];
        return Tag(Source.StartActivity(name, kind, parent, links: links), row);
    }

    /// <summary>A span around one conditional ledger transition; <see cref="Won"/> records whether this writer won it.</summary>
    public static Activity? StartTransition(Guid requestId, RequestState to)
    {
        var activity = Source.StartActivity($"ledger {to.ToString().ToLowerInvariant()}");
        activity?.SetTag("eventimaging.request_id", requestId.ToString());
        activity?.SetTag("eventimaging.state", to.ToString().ToLowerInvariant());
        return activity;
    }

    public static bool Won(this Activity? activity, bool won)
    {
        activity?.SetTag("eventimaging.transition_won", won);
        return won;
    }

    public static Activity? Tag(Activity? activity, ImageRequest row)
    {
        activity?.SetTag("eventimaging.request_id", row.RequestId.ToString());
        activity?.SetTag("eventimaging.provider", row.Provider);
        activity?.SetTag("eventimaging.model", row.Model);
        if (row.ProviderTaskId is not null)
        {
            activity?.SetTag("eventimaging.provider_task_id", row.ProviderTaskId);
        }

        return activity;
    }
}
