using System.Collections.Concurrent;
using EventImaging.Contracts;
using EventImaging.Core.Archiving;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.Scheduling;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Polling;

/// <summary>
/// The polling fallback: finds the outcome of a submitted task whose callback never came by asking the provider, with
/// bounded concurrency per provider, and finishes or reschedules the row. At the deadline it takes one last look, so a
/// task that finished just before it is not a timeout.
/// </summary>
public sealed partial class StatusPoll(
    DueRows dueRows,
    RequestFinisher finisher,
    IOptions<PollingOptions> options,
    RequestMetrics metrics,
    RequestHistory history,
    IOptions<ArchiveOptions> archive,
    TimeProvider clock,
    ILogger<StatusPoll> logger) : IDueRowHandler
{
    /// <summary>How long after its create a task may still be unknown to the provider's status API (replication lag).</summary>
    private static readonly TimeSpan UnknownTaskGrace = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, SemaphoreSlim> concurrency = new();

    public RequestState State => RequestState.Submitted;

    public async Task SettleAsync(DueRow due, CancellationToken cancellationToken)
    {
        var row = due.Row;
        var answer = await QueryAsync(due.Provider, row, due.QueryBudget);
        if (answer.Outcome(row, due.Provider, clock.GetUtcNow(), archive.Value.IsOn) is { } outcome)
        {
            await finisher.FinishAsync(row, outcome, row.ProviderTaskId, FinishedBy.Poll, cancellationToken);
            return;
        }

        var next = PollSchedule.Next(clock.GetUtcNow(), row.PollCount + 1, Random.Shared.NextDouble(), options.Value, row.Deadline);
        await dueRows.RescheduleAsync(row.RequestId, due.Claim, next, answer.Task?.Progress, cancellationToken);
    }

    /// <summary>
    /// The query at the deadline, bounded by <see cref="Deadlines.LastLookBudget"/>: whatever it cannot tell in that time (no
    /// answer, an error) leaves the request to time out now.
    /// </summary>
    public async Task<TerminalOutcome> AtDeadlineAsync(DueRow due, CancellationToken cancellationToken)
    {
        using var lastLook = CancellationTokenSource.CreateLinkedTokenSource(due.QueryBudget);
        lastLook.CancelAfter(Deadlines.LastLookBudget);
        var row = due.Row;
        try
        {
            var answer = await QueryAsync(due.Provider, row, lastLook.Token);
            return answer.Outcome(row, due.Provider, clock.GetUtcNow(), archive.Value.IsOn) ?? Deadlines.Timeout(row, clock.GetUtcNow());
        }
        catch (Exception ex) when (ex is not OperationCanceledException || lastLook.IsCancellationRequested)
        {
            LogLastLookFailed(ex, row.RequestId, due.Provider.Name);
            return Deadlines.Timeout(row, clock.GetUtcNow());
        }
    }

    /// <summary>
    /// The task's state; or a failure no later query can change (the key was refused with 401, or the provider has not known
    /// the task for longer than <see cref="UnknownTaskGrace"/>); or neither when the provider could not say (429, 5xx,
    /// unreachable): only a reschedule follows.
    /// </summary>
    private async Task<StatusAnswer> QueryAsync(IImageProvider provider, ImageRequest row, CancellationToken cancellationToken)
    {
        var gate = concurrency.GetOrAdd(provider.Name, _ => new SemaphoreSlim(options.Value.ConcurrencyPerProvider));
        await gate.WaitAsync(cancellationToken);
        var started = clock.GetTimestamp();
        try
        {
            var task = await provider.GetAsync(row.ProviderTaskId!, cancellationToken);
            metrics.ProviderCall(provider.Name, "query", "ok", clock.GetElapsedTime(started));
            history.Record(row.RequestId, HistoryKinds.Poll, $"query {row.PollCount + 1}: {task.Status}, {task.Progress?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} %");
            return new StatusAnswer(task, null);
        }
        catch (ProviderException ex)
        {
            metrics.ProviderCall(provider.Name, "query", ex.Kind.ToString().ToLowerInvariant(), clock.GetElapsedTime(started));
            LogQueryFailed(row.RequestId, row.Provider, ex.HttpStatus, ex.Message);
            history.Record(row.RequestId, HistoryKinds.Poll, $"query {row.PollCount + 1} failed: {ex.Kind} (HTTP {ex.HttpStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}): {ex.Message}");
            return new StatusAnswer(null, PermanentFailure(provider, row, ex));
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// A query failure that ends the request. 401 is the provider refusing the key itself; a 403 may come from a firewall
    /// in front of it, so it only reschedules, as does a 404 while the task may still be replicating.
    /// </summary>
    private ProviderFailure? PermanentFailure(IImageProvider provider, ImageRequest row, ProviderException ex) =>
        (ex.Kind, ex.HttpStatus) switch
        {
            (ProviderFailureKind.Rejected, 401) => ex.Failure,
            (ProviderFailureKind.Rejected, 404) when clock.GetUtcNow() - (row.SubmittedAt ?? row.CreatedAt) > UnknownTaskGrace => ex.Failure with
            {
                Code = FailureCodes.ProviderError,
                Message = $"{provider.Name} does not know task {row.ProviderTaskId}: {ex.Failure.Message}",
            },
            _ => null,
        };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId}: status query to {Provider} failed (HTTP {Status}): {Reason}; rescheduled")]
    private partial void LogQueryFailed(Guid requestId, string provider, int? status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: the last status query to {Provider} at the deadline told nothing; it times out")]
    private partial void LogLastLookFailed(Exception exception, Guid requestId, string provider);
}

/// <summary>What a status query told: the task's state, or a failure no later query can change, or neither.</summary>
internal readonly record struct StatusAnswer(ProviderTask? Task, ProviderFailure? Failure)
{
    /// <summary>The request's outcome when the answer ends it; null when the task still runs or the provider could not say.</summary>
    public TerminalOutcome? Outcome(ImageRequest row, IImageProvider provider, DateTimeOffset now, bool archive) => this switch
    {
        { Task.IsTerminal: true } => TerminalOutcome.ForTask(row, Task, provider.Capabilities.ResultUrlLifetime, CompletionPaths.Poll, now, archive),
        { Failure: { } failure } => TerminalOutcome.Failed(row, failure, row.ProviderTaskId, now),
        _ => null,
    };
}
