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
    /// transition and publish). A request with none (it was received before the history was kept) shows what its row's
    /// own timestamps tell: received → submitted → completed / failed → event published.
    /// </summary>
    public static RequestTimeline Of(ImageRequest row, IReadOnlyList<HistoryEntry> history) => new(
        RequestView.Of(row),
        history.Count > 0 ? [.. history.Select(h => new TimelineEntry(h.At, h.Kind, h.Detail))] : FromRow(row),
        row.SubmitAttempts,
        row.UnknownOutcomes,
        row.PollCount,
        row.NextActionAt,
        row.LeaseOwner,
        row.LeaseUntil,
        TraceIdOf(row.TraceParent),
        row.UpdatedAt);

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

        if (row.EventPublishedAt is { } publishedAt)
        {
            timeline.Add(new(publishedAt, "event published", row.EventType ?? ""));
        }

        return timeline;
    }

    private static string? CompletedVia(ImageRequest row) =>
        row.EventJson is null ? null : JsonSerializer.Deserialize<ImageCompleted>(row.EventJson, EventJson.Options)?.CompletedVia;

    // traceparent: version-traceid-spanid-flags.
    private static string? TraceIdOf(string? traceParent) =>
        traceParent?.Split('-') is [_, var traceId, _, _] ? traceId : null;
}
