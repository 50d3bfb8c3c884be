using System.Diagnostics;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Scheduling;

/// <summary>
/// Acts on every row whose next action is due: submit retries, status polls, and deadlines. Claims due rows in small
/// batches under a lease (any number of replicas may run), hands each to the handler of its state
/// (<see cref="IDueRowHandler"/>), and ends requests at their deadline. A task finished by its callback has no due
/// time, so it is never looked at again.
/// </summary>
public sealed partial class DueRowScheduler(
    DueRows dueRows,
    IEnumerable<IDueRowHandler> handlers,
    ProviderRegistry providers,
    RequestFinisher finisher,
    IOptions<PollingOptions> options,
    IOptions<CallbackOptions> callbacks,
    WorkerIdentity worker,
    TimeProvider clock,
    ILogger<DueRowScheduler> logger) : BackgroundService
{
    private readonly Dictionary<RequestState, IDueRowHandler> byState = handlers.ToDictionary(h => h.State);

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
                claimed = await RunOnceAsync(stoppingToken);
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
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var claim = $"{worker.Name}:poll:{Guid.NewGuid():N}";
        var rows = await dueRows.ClaimAsync(claim, options.Value.BatchSize, options.Value.Lease, cancellationToken);
        await Task.WhenAll(rows.Select(row => SettleAsync(row, claim, cancellationToken)));
        return rows.Count;
    }

    private async Task SettleAsync(ImageRequest row, string claim, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        using var logScope = logger.BeginRequestScope(row);
        using var span = RequestTracing.StartInRequestTrace(row.State switch
        {
            RequestState.Received => "submit retry",
            RequestState.Archiving => "archive",
            _ => "poll",
        }, row);
        span?.SetTag("eventimaging.poll_count", row.PollCount);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(QueryBudget(row, now));
        try
        {
            var provider = providers.Find(row.Provider);
            var handler = byState.GetValueOrDefault(row.State);
            var due = provider is null ? null : new DueRow(row, claim, provider, budget.Token);
            if (now >= row.Deadline)
            {
                var outcome = due is null || handler is null
                    ? Deadlines.Timeout(row, clock.GetUtcNow())
                    : await handler.AtDeadlineAsync(due, cancellationToken);
                await finisher.FinishAsync(row, outcome, row.ProviderTaskId, row.State == RequestState.Archiving ? FinishedBy.Archive : FinishedBy.Poll, cancellationToken);
                return;
            }

            if (due is null || handler is null)
            {
                LogCannotAct(row.RequestId, row.Provider, row.State);
                await dueRows.RescheduleAsync(row.RequestId, claim, clock.GetUtcNow() + options.Value.MaxInterval, null, cancellationToken);
                return;
            }

            await handler.SettleAsync(due, cancellationToken);
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

    /// <summary>What is left of the claim, less a margin for the write that settles the row.</summary>
    private TimeSpan QueryBudget(ImageRequest row, DateTimeOffset now)
    {
        var left = (row.LeaseUntil ?? now) - now - (options.Value.Lease / 4);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Callbacks:PublicBaseUrl is not set: polling-only mode, requests are sent without a callback URL and finish by polling")]
    private partial void LogPollingOnly();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Polling request {RequestId} failed; its lease will expire and another cycle retries it")]
    private partial void LogSettleFailed(Exception exception, Guid requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} names provider {Provider}, which this replica has no client for (or nothing here acts on state {State}); rescheduled")]
    private partial void LogCannotAct(Guid requestId, string provider, RequestState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: the status query to {Provider} did not finish within its claim; the row is due again when the claim ends")]
    private partial void LogQueryOverran(Guid requestId, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A polling cycle failed; the next one starts after the interval")]
    private partial void LogCycleFailed(Exception exception);
}
