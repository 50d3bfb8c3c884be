using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Requests;

namespace EventImaging.Core.Operations;

/// <summary>One step of a request's life: what happened (<see cref="HistoryKinds"/>), when, in words.</summary>
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
    /// The timeline is the request's history (<see cref="HistoryEntry"/>: every submit attempt, callback, poll, cancel,
    /// transition and republish) with the publish its row records (<see cref="HistoryKinds.Published"/>) in its place. A
    /// request with no history (received before the history was kept) shows what its row's own timestamps tell:
    /// received → submitted → completed / failed → published.
    /// </summary>
    public static RequestTimeline Of(ImageRequest row, IReadOnlyList<HistoryEntry> history) => new(
        RequestView.Of(row),
        history.Count > 0 ? FromHistory(row, history) : FromRow(row),
        row.SubmitAttempts,
        row.UnknownOutcomes,
        row.PollCount,
        row.NextActionAt,
        row.LeaseOwner,
        row.LeaseUntil,
        TraceIdOf(row.TraceParent),
        row.UpdatedAt);

    private static List<TimelineEntry> FromHistory(ImageRequest row, IReadOnlyList<HistoryEntry> history)
    {
        var timeline = history.Select(h => new TimelineEntry(h.At, h.Kind, h.Detail)).ToList();

        // A republish says the sweeper sent it; a history from before the row's mark was the step holds the step itself.
        if (Published(row) is { } published && !history.Any(h => h.Kind is HistoryKinds.Published or HistoryKinds.Republished))
        {
            // After the transition it announces, whatever another process's clock stamped later entries with; then by time.
            var after = timeline.FindLastIndex(entry => entry.Step is HistoryKinds.Completed or HistoryKinds.Failed) + 1;
            var before = timeline.FindIndex(after, entry => entry.At > published.At);
            timeline.Insert(before < 0 ? timeline.Count : before, published);
        }

        return timeline;
    }

    /// <summary>The publish the row's mark records: the event reached the broker then.</summary>
    private static TimelineEntry? Published(ImageRequest row) =>
        row.EventPublishedAt is { } publishedAt ? new(publishedAt, HistoryKinds.Published, row.EventType ?? "") : null;

    private static List<TimelineEntry> FromRow(ImageRequest row)
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

        if (Published(row) is { } published)
        {
            timeline.Add(published);
        }

        return timeline;
    }

    private static string? CompletedVia(ImageRequest row) =>
        row.EventJson is null ? null : JsonSerializer.Deserialize<ImageCompleted>(row.EventJson, EventJson.Options)?.CompletedVia;

    // traceparent: version-traceid-spanid-flags.
    private static string? TraceIdOf(string? traceParent) =>
        traceParent?.Split('-') is [_, var traceId, _, _] ? traceId : null;
}
