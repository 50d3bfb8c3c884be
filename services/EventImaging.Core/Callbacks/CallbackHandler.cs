using EventImaging.Contracts;
using EventImaging.Core.Archiving;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.Telemetry;
using EventImaging.Core.Scheduling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Callbacks;

/// <summary>What the receiver answers a provider.</summary>
public enum CallbackResult
{
    /// <summary>200: applied, or a duplicate/late callback that changes nothing.</summary>
    Accepted,

    /// <summary>404: the token is forged, altered, expired, for another provider, or the task does not match.</summary>
    NotFound,

    /// <summary>400: a valid token, but a body that cannot be read.</summary>
    Unreadable,

    /// <summary>503: the ledger cannot be reached; the provider retries and the poller covers the rest.</summary>
    Unavailable,
}

/// <summary>
/// Applies a provider callback whose token was found genuine (<see cref="CallbackGate"/>): parsed body → ledger row →
/// compare-and-set transition → event.
/// The row's read, the transition and the publish mark are group-committed with concurrent callbacks'
/// (<see cref="LedgerBatches"/>): the answer still waits for this callback's own commit.
/// </summary>
public sealed partial class CallbackHandler(
    LedgerBatches batches,
    RequestFinisher finisher,
    DueRows dueRows,
    RequestHistory history,
    IOptions<ArchiveOptions> archive,
    TimeProvider clock,
    ILogger<CallbackHandler> logger)
{
    /// <summary>Applies the body of a callback whose token <see cref="CallbackGate"/> found genuine.</summary>
    public async Task<CallbackResult> HandleAsync(IImageProvider client, Guid requestId, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ProviderTask task;
        try
        {
            task = client.ParseCallback(body.Span);
        }
        catch (ProviderPayloadException ex)
        {
            using var unreadableScope = logger.BeginRequestScope(requestId, client.Name);
            LogUnreadable(requestId, client.Name, ex.Message);
            history.Record(requestId, HistoryKinds.Callback, $"unreadable body ({ex.Message}); answered 400, the task is polled now");
            await MakeDueNowAsync(requestId, cancellationToken);
            return CallbackResult.Unreadable;
        }

        // One scope for everything logged about this callback from here on.
        using var logScope = logger.BeginRequestScope(requestId, client.Name, task.TaskId);
        try
        {
            return await ApplyAsync(requestId, client, task, cancellationToken);
        }
        catch (Exception ex) when (LedgerFaults.IsUnavailable(ex))
        {
            LogLedgerUnavailable(ex, requestId);
            history.Record(requestId, HistoryKinds.Callback, $"{task.Status} for task {task.TaskId}: the ledger could not be reached; answered 503, the provider sends it again");
            return CallbackResult.Unavailable;
        }
    }

    private async Task<CallbackResult> ApplyAsync(Guid requestId, IImageProvider client, ProviderTask task, CancellationToken cancellationToken)
    {
        var row = await batches.FindAsync(requestId, cancellationToken);
        if (row is null || row.Provider != client.Name || (row.ProviderTaskId is not null && row.ProviderTaskId != task.TaskId))
        {
            LogTaskMismatch(requestId, task.TaskId);
            if (row is not null)
            {
                history.Record(requestId, HistoryKinds.Callback, $"refused (404): from {client.Name} for task {task.TaskId}, the ledger holds {row.Provider} task {row.ProviderTaskId}");
            }

            return CallbackResult.NotFound;
        }

        // Once the outcome is known (terminal, or archiving: only its images are still being copied), no news changes it.
        if (!RequestTransitions.BeforeOutcome.Contains(row.State))
        {
            if ((row.State is RequestState.Completed or RequestState.Archiving) != (task.Status == ProviderTaskStatus.Completed))
            {
                LogLate(requestId, task.TaskId, row.ErrorCode ?? "completed");
                history.Record(requestId, HistoryKinds.Callback, $"stale: {task.Status} came after the request ended ({row.ErrorCode ?? "completed"}); nothing changes");
            }
            else
            {
                LogDuplicate(requestId, row.State);
                history.Record(requestId, HistoryKinds.Callback, $"duplicate: {task.Status} for a request already {row.State.ToString().ToLowerInvariant()}; nothing changes");
            }

            return CallbackResult.Accepted;
        }

        if (!task.IsTerminal)
        {
            history.Record(requestId, HistoryKinds.Callback, $"progress: {task.Status}, {task.Progress?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} %");
            return CallbackResult.Accepted;
        }

        using var span = RequestTracing.StartInRequestTrace("callback", row);
        span?.SetTag("eventimaging.completion_path", CompletionPaths.Callback);
        span?.SetTag("eventimaging.provider_task_id", task.TaskId);
        var outcome = TerminalOutcome.ForTask(row, task, client.Capabilities.ResultUrlLifetime, CompletionPaths.Callback, clock.GetUtcNow(), archive.Value.IsOn);

        // The callback that ends the request is its "completed" or "failed" step (via callback, with the task): one entry.
        if (!await finisher.FinishAsync(row, outcome, task.TaskId, FinishedBy.Callback, cancellationToken))
        {
            history.Record(requestId, HistoryKinds.Callback, $"stale: {task.Status} for task {task.TaskId} came after another writer ended the request; nothing changes");
        }

        return CallbackResult.Accepted;
    }

    /// <summary>An unreadable callback still says the task has news: let the poller ask the provider now.</summary>
    private async Task MakeDueNowAsync(Guid requestId, CancellationToken cancellationToken)
    {
        try
        {
            await dueRows.MakeDueNowAsync(requestId, cancellationToken);
        }
        catch (Exception ex) when (LedgerFaults.IsUnavailable(ex))
        {
            LogLedgerUnavailable(ex, requestId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Late callback for request {RequestId} (task {ProviderTaskId}) ignored: the request had already ended ({Code})")]
    private partial void LogLate(Guid requestId, string providerTaskId, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Callback for request {RequestId} from {Provider} has an unreadable body: {Reason}")]
    private partial void LogUnreadable(Guid requestId, string provider, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Callback for request {RequestId} names task {ProviderTaskId}, which the ledger does not hold for it")]
    private partial void LogTaskMismatch(Guid requestId, string providerTaskId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Duplicate or late callback for request {RequestId} (state {State}); nothing changes")]
    private partial void LogDuplicate(Guid requestId, RequestState? state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Callback for request {RequestId} could not reach the ledger; answering 503")]
    private partial void LogLedgerUnavailable(Exception exception, Guid requestId);
}
