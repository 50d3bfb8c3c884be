using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Outbox;

/// <summary>How a request's outcome was learnt.</summary>
public enum FinishedBy
{
    /// <summary>The provider's callback.</summary>
    Callback,

    /// <summary>A status query, the last one at the deadline included, or the deadline itself.</summary>
    Poll,

    /// <summary>The submitter: a create the provider refused for good, or a command that could not be sent at all.</summary>
    Submitter,

    /// <summary>A cancel, from a <c>CancelImage</c> command or an operator.</summary>
    Cancel,

    /// <summary>The archive step, once the images were copied (or could not be): the outcome itself came by callback or poll.</summary>
    Archive,
}

/// <summary>
/// Ends a request: the terminal compare-and-set (group-committed with concurrent ones), then, for the one writer that
/// won it, the log line, the metrics and the publish of its event. Every path that ends a request goes through here.
/// </summary>
public sealed partial class RequestFinisher(
    LedgerBatches batches,
    TerminalEventPublisher events,
    RequestMetrics metrics,
    RequestHistory history,
    ILogger<RequestFinisher> logger)
{
    /// <summary>True when this call made the transition (and published its event, or left it to the sweeper).</summary>
    public Task<bool> FinishAsync(ImageRequest row, TerminalOutcome outcome, string? expectedTaskId, FinishedBy by, CancellationToken cancellationToken) =>
        FinishAsync(row, outcome, expectedTaskId, by, cancellationToken, cancellationToken);

    /// <inheritdoc cref="FinishAsync(ImageRequest, TerminalOutcome, string?, FinishedBy, CancellationToken)"/>
    /// <param name="transition">Gives up the transition.</param>
    /// <param name="announcing">Gives up what follows it, the publish included (the sweeper sends what it could not).</param>
    public async Task<bool> FinishAsync(ImageRequest row, TerminalOutcome outcome, string? expectedTaskId, FinishedBy by, CancellationToken transition, CancellationToken announcing)
    {
        if (!await batches.TryFinishAsync(row.RequestId, outcome, expectedTaskId, transition))
        {
            LogAlreadyFinished(row.RequestId, by);
            return false;
        }

        await AnnounceAsync(row, outcome, expectedTaskId, by, announcing);
        return true;
    }

    /// <summary>What follows a terminal transition this process won: a row born terminal comes here straight from its insert.</summary>
    public async Task AnnounceAsync(ImageRequest row, TerminalOutcome outcome, string? taskId, FinishedBy by, CancellationToken cancellationToken)
    {
        if (outcome.State == RequestState.Archiving)
        {
            // Not the end yet: the archive step copies the images, then ends the request with the event.
            LogArchiving(row.RequestId, Via(by), row.Provider, taskId ?? row.ProviderTaskId);
            history.Record(row.RequestId, HistoryKinds.Archive, $"task {taskId ?? row.ProviderTaskId} completed (learnt via {Via(by)}); its images are to be copied");
            return;
        }

        if (outcome.State == RequestState.Completed)
        {
            LogCompleted(row.RequestId, Via(by), row.Provider, taskId ?? row.ProviderTaskId);
        }
        else
        {
            LogFailed(row.RequestId, Via(by), row.Provider, taskId ?? row.ProviderTaskId, outcome.ErrorCode);
        }

        var how = (taskId ?? row.ProviderTaskId) is { } task ? $"via {Via(by)}, task {task}" : $"via {Via(by)}";
        history.Record(
            row.RequestId,
            outcome.State == RequestState.Completed ? HistoryKinds.Completed : HistoryKinds.Failed,
            outcome.State == RequestState.Completed ? how : $"{how}: {outcome.ErrorCode}: {outcome.ErrorMessage}");
        metrics.Finished(row, outcome, CompletionPath(by, outcome));

        // Its "published" step is the row's own mark (event_published_at): the timeline reads it from there.
        await events.PublishAsync(row.RequestId, outcome, cancellationToken);
    }

    private static string Via(FinishedBy by) => by switch
    {
        FinishedBy.Callback => CompletionPaths.Callback,
        FinishedBy.Poll => CompletionPaths.Poll,
        FinishedBy.Cancel => "cancel",
        FinishedBy.Archive => "archive",
        _ => "submitter",
    };

    /// <summary>The completion path the metrics count: a callback's outcome always; a poll's only when it completed.</summary>
    private static string? CompletionPath(FinishedBy by, TerminalOutcome outcome) => by switch
    {
        FinishedBy.Callback => CompletionPaths.Callback,
        FinishedBy.Poll when outcome.State == RequestState.Completed => CompletionPaths.Poll,
        FinishedBy.Archive when outcome.Event is ImageCompleted completed => completed.CompletedVia,
        _ => null,
    };

    // A request that went as it should is in its history, its trace and the metrics; a line each would cost the hot
    // path more than its statements do, and the console logger's one queue lock would contend at every one.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} Completed via {Via} from {Provider} task {ProviderTaskId}")]
    private partial void LogCompleted(Guid requestId, string via, string provider, string? providerTaskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} Failed via {Via} from {Provider} task {ProviderTaskId} (code {Code})")]
    private partial void LogFailed(Guid requestId, string via, string provider, string? providerTaskId, string? code);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} completed via {Via} at {Provider} task {ProviderTaskId}; copying its images")]
    private partial void LogArchiving(Guid requestId, string via, string provider, string? providerTaskId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} was already finished when the {By} outcome came; nothing changes")]
    private partial void LogAlreadyFinished(Guid requestId, FinishedBy by);
}
