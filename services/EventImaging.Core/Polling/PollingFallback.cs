using System.Collections.Concurrent;
using System.Diagnostics;
using EventImaging.Contracts;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.Submission;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Polling;

/// <summary>
/// Finds the outcome of tasks whose callback never came, and ends requests at their deadline. Claims due rows
/// in small batches under a lease (any number of replicas may run), queries each provider with bounded
/// concurrency, and transitions or reschedules. A task finished by its callback has no due time, so it is
/// never queried again.
/// </summary>
public sealed partial class PollingFallback(
    IServiceScopeFactory scopes,
    ProviderRegistry providers,
    IOptions<PollingOptions> options,
    IOptions<CallbackOptions> callbacks,
    WorkerIdentity worker,
    RequestMetrics metrics,
    TimeProvider clock,
    ILogger<PollingFallback> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> concurrency = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (callbacks.Value.PublicBaseUrl is null)
        {
            LogPollingOnly();
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await PollOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogCycleFailed(ex);
            }

            if (claimed < options.Value.BatchSize)
            {
                await Task.Delay(options.Value.Interval, clock, stoppingToken);
            }
        }
    }

    /// <summary>One cycle: claim due rows and settle each. Returns how many rows it claimed.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellationToken)
    {
        var claim = $"{worker.Name}:poll:{Guid.NewGuid():N}";
        List<ImageRequest> rows;
        await using (var scope = scopes.CreateAsyncScope())
        {
            rows = await scope.ServiceProvider.GetRequiredService<RequestLedger>()
                .ClaimDueAsync(claim, options.Value.BatchSize, options.Value.Lease, cancellationToken);
        }

        await Task.WhenAll(rows.Select(row => SettleAsync(row, claim, cancellationToken)));
        return rows.Count;
    }

    private async Task SettleAsync(ImageRequest row, string claim, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<RequestLedger>();
        var now = clock.GetUtcNow();
        using var logScope = logger.BeginRequestScope(row);
        using var span = RequestTracing.StartInRequestTrace(row.State == RequestState.Received ? "submit retry" : "poll", row);
        span?.SetTag("eventimaging.poll_count", row.PollCount);
        // A status query (with its retries, and its wait for a query slot) ends before the claim does, so no other
        // replica can claim the row while this one still asks about it.
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(QueryBudget(row, now));
        try
        {
            var provider = providers.Find(row.Provider);
            if (now >= row.Deadline)
            {
                // One last look before giving up: a task that finished just before its deadline is not a timeout.
                var last = provider is not null && row is { State: RequestState.Submitted, ProviderTaskId: not null }
                    ? await LastLookAsync(provider, row, budget.Token)
                    : default;
                var outcome = last switch
                {
                    { Task.IsTerminal: true } => TerminalOutcome.ForTask(row, last.Task, provider!.Capabilities.ResultUrlLifetime, CompletionPaths.Poll, clock.GetUtcNow()),
                    { Failure: { } failure } => TerminalOutcome.Failed(row, failure, row.ProviderTaskId, clock.GetUtcNow()),
                    _ => TerminalOutcome.Failed(row, new ProviderFailure(FailureCodes.Timeout, null, $"No outcome from {row.Provider} before the deadline {row.Deadline:O}.", true), row.ProviderTaskId, clock.GetUtcNow()),
                };
                await FinishAsync(scope, row, outcome, cancellationToken);
                return;
            }

            if (provider is null)
            {
                LogNoProvider(row.RequestId, row.Provider);
                await ledger.RescheduleAsync(row.RequestId, claim, clock.GetUtcNow() + options.Value.MaxInterval, null, cancellationToken);
                return;
            }

            if (row.State == RequestState.Received)
            {
                // A scheduled retry, an attempt whose outcome is unknown, or a submitter that died mid-way.
                await scope.ServiceProvider.GetRequiredService<SubmissionService>().SubmitAsync(row, provider, claim, cancellationToken);
                return;
            }

            var (task, permanent) = await QueryAsync(provider, row, budget.Token);
            if (task is { IsTerminal: true })
            {
                var outcome = TerminalOutcome.ForTask(row, task, provider.Capabilities.ResultUrlLifetime, CompletionPaths.Poll, clock.GetUtcNow());
                await FinishAsync(scope, row, outcome, cancellationToken);
                return;
            }

            if (permanent is not null)
            {
                await FinishAsync(scope, row, TerminalOutcome.Failed(row, permanent, row.ProviderTaskId, clock.GetUtcNow()), cancellationToken);
                return;
            }

            var next = PollSchedule.Next(clock.GetUtcNow(), row.PollCount + 1, Random.Shared.NextDouble(), options.Value, row.Deadline);
            await ledger.RescheduleAsync(row.RequestId, claim, next, task?.Progress, cancellationToken);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The row stays claimed until its lease ends, and is due again then.
            LogQueryOverran(row.RequestId, row.Provider);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The lease runs out and another cycle takes the row again.
            span?.AddException(ex);
            span?.SetStatus(ActivityStatusCode.Error);
            LogSettleFailed(ex, row.RequestId);
        }
    }

    /// <summary>
    /// The query at the deadline, bounded by <see cref="LastLookBudget"/>: whatever it cannot tell in that time (no answer,
    /// an error) leaves the request to time out now, so no request outlives its deadline by more than one poll.
    /// </summary>
    private async Task<(ProviderTask? Task, ProviderFailure? Failure)> LastLookAsync(IImageProvider provider, ImageRequest row, CancellationToken cancellationToken)
    {
        using var lastLook = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        lastLook.CancelAfter(LastLookBudget);
        try
        {
            return await QueryAsync(provider, row, lastLook.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || lastLook.IsCancellationRequested)
        {
            // Whatever the last look could not tell leaves the request to time out now.
            LogLastLookFailed(ex, row.RequestId, provider.Name);
            return default;
        }
    }

    private static readonly TimeSpan LastLookBudget = TimeSpan.FromSeconds(10);

    /// <summary>What is left of the claim, less a margin for the write that settles the row.</summary>
    private TimeSpan QueryBudget(ImageRequest row, DateTimeOffset now)
    {
        var left = (row.LeaseUntil ?? now) - now - (options.Value.Lease / 4);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    /// <summary>
    /// The task's state; or a failure no later query can change (the key was refused with 401, or the provider has not known the
    /// task for longer than <see cref="UnknownTaskGrace"/>); or neither when the provider could not say (429, 5xx,
    /// unreachable): only a reschedule follows.
    /// </summary>
    private async Task<(ProviderTask? Task, ProviderFailure? Failure)> QueryAsync(IImageProvider provider, ImageRequest row, CancellationToken cancellationToken)
    {
        var gate = concurrency.GetOrAdd(provider.Name, _ => new SemaphoreSlim(options.Value.ConcurrencyPerProvider));
        await gate.WaitAsync(cancellationToken);
        var started = clock.GetTimestamp();
        try
        {
            var task = await provider.GetAsync(row.ProviderTaskId!, cancellationToken);
            metrics.ProviderCall(provider.Name, "query", "ok", clock.GetElapsedTime(started));
            return (task, null);
        }
        catch (ProviderException ex)
        {
            metrics.ProviderCall(provider.Name, "query", ex.Kind.ToString().ToLowerInvariant(), clock.GetElapsedTime(started));
            LogQueryFailed(row.RequestId, row.Provider, ex.HttpStatus, ex.Message);
            // 401 is the provider refusing the key itself; a 403 may come from a firewall in front of it, so it only reschedules.
            var permanent = ex.Kind == ProviderFailureKind.Rejected
                && (ex.HttpStatus == 401
                    || (ex.HttpStatus == 404 && clock.GetUtcNow() - (row.SubmittedAt ?? row.CreatedAt) > UnknownTaskGrace));
            return (null, permanent
                ? ex.Failure with
                {
                    Code = ex.HttpStatus == 404 ? FailureCodes.ProviderError : ex.Failure.Code,
                    Message = ex.HttpStatus == 404 ? $"{provider.Name} does not know task {row.ProviderTaskId}: {ex.Failure.Message}" : ex.Failure.Message,
                }
                : null);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>How long after its create a task may still be unknown to the provider's status API (replication lag).</summary>
    private static readonly TimeSpan UnknownTaskGrace = TimeSpan.FromMinutes(1);

    private async Task FinishAsync(AsyncServiceScope scope, ImageRequest row, TerminalOutcome outcome, CancellationToken cancellationToken)
    {
        var ledger = scope.ServiceProvider.GetRequiredService<RequestLedger>();
        if (await ledger.TryFinishAsync(row.RequestId, outcome, row.ProviderTaskId, cancellationToken))
        {
            LogFinished(row.RequestId, row.Provider, row.ProviderTaskId, outcome.State, outcome.ErrorCode);
            metrics.Finished(row, outcome, outcome.State == RequestState.Completed ? CompletionPaths.Poll : null);
            await scope.ServiceProvider.GetRequiredService<TerminalEventPublisher>()
                .PublishAsync(row.RequestId, outcome, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Callbacks:PublicBaseUrl is not set: polling-only mode, requests are sent without a callback URL and finish by polling")]
    private partial void LogPollingOnly();

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} {State} via poll of {Provider} task {ProviderTaskId} (code {Code})")]
    private partial void LogFinished(Guid requestId, string provider, string? providerTaskId, RequestState state, string? code);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId}: status query to {Provider} failed (HTTP {Status}): {Reason}; rescheduled")]
    private partial void LogQueryFailed(Guid requestId, string provider, int? status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Polling request {RequestId} failed; its lease will expire and another cycle retries it")]
    private partial void LogSettleFailed(Exception exception, Guid requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} names provider {Provider}, which this replica has no client for; rescheduled")]
    private partial void LogNoProvider(Guid requestId, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: the last status query to {Provider} at the deadline told nothing; it times out")]
    private partial void LogLastLookFailed(Exception exception, Guid requestId, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: the status query to {Provider} did not finish within its claim; the row is due again when the claim ends")]
    private partial void LogQueryOverran(Guid requestId, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A polling cycle failed; the next one starts after the interval")]
    private partial void LogCycleFailed(Exception exception);
}
