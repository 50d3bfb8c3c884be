using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Requests;

namespace EventImaging.Core.Operations;

/// <summary>One step of a request's life: a ledger transition, or the publish of its terminal event.</summary>
public sealed record TimelineEntry(DateTimeOffset At, string Step, string Detail);

/// <summary>
/// What an operator sees of one request: its public view, the timeline of its transitions, and the ledger's
/// bookkeeping (attempts, polls, what is due next, who holds it, the trace to open).
/// </summary>
public sealed record RequestTimeline(
    RequestView Request,
    IReadOnlyList<TimelineEntry> Timeline,
    int SubmitAttempts,
    int UnknownOutcomes,
    int PollCount,
    DateTimeOffset? NextActionAt,
    string? LeaseOwner,
    DateTimeOffset? LeaseUntil,
    string? TraceId,
    DateTimeOffset UpdatedAt)
{
    /// <summary>
    /// Every transition of the ledger writes its own timestamp (received → submitted → completed / failed, then
    /// the event's publish), so the timeline is read from the row itself: no history table, no extra write.
    /// </summary>
    public static RequestTimeline Of(ImageRequest row)
    {
        var timeline = new List<TimelineEntry> { new(row.CreatedAt, "received", $"for {row.Provider} {row.Model}, deadline {row.Deadline:O}") };
        if (row.SubmittedAt is { } submittedAt)
        {
            timeline.Add(new(submittedAt, "submitted", $"task {row.ProviderTaskId} after {row.SubmitAttempts} create attempt(s)"));
        }

        if (row.FinishedAt is { } finishedAt)
        {
            timeline.Add(row.State == RequestState.Completed
                ? new(finishedAt, "completed", $"via {CompletedVia(row) ?? "unknown path"}")
                : new(finishedAt, "failed", $"{row.ErrorCode}: {row.ErrorMessage}"));
        }

        if (row.EventPublishedAt is { } publishedAt)
        {
            timeline.Add(new(publishedAt, "event published", row.EventType ?? ""));
        }

        return new RequestTimeline(
            RequestView.Of(row),
            timeline,
            row.SubmitAttempts,
            row.UnknownOutcomes,
            row.PollCount,
            row.NextActionAt,
            row.LeaseOwner,
            row.LeaseUntil,
            TraceIdOf(row.TraceParent),
            row.UpdatedAt);
    }

    private static string? CompletedVia(ImageRequest row) =>
        row.EventJson is null ? null : JsonSerializer.Deserialize<ImageCompleted>(row.EventJson, EventJson.Options)?.CompletedVia;

    // traceparent: version-traceid-spanid-flags.
    private static string? TraceIdOf(string? traceParent) =>
        traceParent?.Split('-') is [_, var traceId, _, _] ? traceId : null;
}
