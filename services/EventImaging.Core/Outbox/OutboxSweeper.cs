using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Outbox;

/// <summary>
/// Republishes terminal rows whose event never reached the broker (a crash or broker outage between
/// commit and publish), so no result is lost. Subscribers may see a duplicate, with the same MessageId.
/// </summary>
public sealed class OutboxSweeper(
    OutboxRows outbox,
    TerminalEventPublisher publisher,
    IOptions<OutboxOptions> options,
    RequestHistory history,
    WorkerIdentity worker,
    TimeProvider clock,
    ILogger<OutboxSweeper> logger)
    : PeriodicService(clock)
{
    protected override TimeSpan Interval => options.Value.SweepInterval;

    protected override Task RunRoundAsync(CancellationToken cancellationToken) => SweepOnceAsync(cancellationToken);

    protected override void OnRoundFailed(Exception exception) =>
        logger.LogWarning(exception, "The outbox sweep failed; it runs again in {Interval}", options.Value.SweepInterval);

    /// <summary>One sweep; returns how many events it published.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var rows = await outbox.FindUnpublishedAsync(options.Value.BatchSize, cancellationToken);
        var published = 0;
        foreach (var row in rows)
        {
            using var logScope = logger.BeginRequestScope(row);
            if (await outbox.TryClaimForPublishAsync(row.RequestId, worker.Name, ClaimFor(row), cancellationToken)
                && await publisher.PublishAsync(row, cancellationToken))
            {
                published++;
                history.Record(row.RequestId, HistoryKinds.Republished, $"{row.EventType}, by the outbox sweeper");
                logger.LogInformation("Outbox republished {EventType} for request {RequestId}", row.EventType, row.RequestId);
            }
        }

        return published;
    }

    /// <summary>How long a claim keeps other sweepers off: the time the event has waited so far, within the configured bounds.</summary>
    private TimeSpan ClaimFor(ImageRequest row)
    {
        var waited = Clock.GetUtcNow() - (row.FinishedAt ?? Clock.GetUtcNow());
        var longest = options.Value.MaxRetryInterval > options.Value.PublishLease ? options.Value.MaxRetryInterval : options.Value.PublishLease;
        return waited < options.Value.PublishLease ? options.Value.PublishLease
            : waited > longest ? longest
            : waited;
    }
}
