using EventImaging.Core.Ledger;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Retention;

/// <summary>
/// Deletes finished requests and their history <c>Ledger:Retention</c> after they ended (they hold prompts), every
/// <c>Ledger:RetentionInterval</c>, in batches of <c>Ledger:RetentionBatchSize</c> until none is left. Any number of
/// replicas may sweep: a request deleted by one is simply not found by another.
/// </summary>
public sealed partial class RetentionSweeper(
    ExpiredRequests expired,
    IOptions<LedgerOptions> options,
    RequestMetrics metrics,
    TimeProvider clock,
    ILogger<RetentionSweeper> logger) : PeriodicService(clock)
{
    protected override TimeSpan Interval => options.Value.RetentionInterval;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Retention == TimeSpan.Zero)
        {
            LogKeepingEverything();
            return Task.CompletedTask;
        }

        return base.ExecuteAsync(stoppingToken);
    }

    protected override Task RunRoundAsync(CancellationToken cancellationToken) => SweepOnceAsync(cancellationToken);

    protected override void OnRoundFailed(Exception exception) => LogSweepFailed(exception, options.Value.RetentionInterval);

    /// <summary>Batches one sweep deletes at most: a backlog (retention switched on over a full ledger) drains over several sweeps.</summary>
    private const int MaxBatchesPerSweep = 100;

    /// <summary>One sweep: deletes the requests that have expired by now, batch by batch; returns how many.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = Clock.GetUtcNow() - options.Value.Retention;
        var total = 0;
        var batches = 0;
        int deleted;
        do
        {
            deleted = await expired.DeleteAsync(cutoff, options.Value.RetentionBatchSize, cancellationToken);
            total += deleted;
            metrics.RetentionDeleted(deleted);
        }
        while (deleted == options.Value.RetentionBatchSize && ++batches < MaxBatchesPerSweep);

        if (total > 0)
        {
            LogDeleted(total, cutoff);
        }

        return total;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger:Retention is 0: finished requests and their history are kept for ever")]
    private partial void LogKeepingEverything();

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} requests that finished before {Cutoff}, with their history")]
    private partial void LogDeleted(int count, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The retention sweep failed; it runs again in {Interval}")]
    private partial void LogSweepFailed(Exception exception, TimeSpan interval);
}
