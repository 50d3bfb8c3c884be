using System.Diagnostics.Metrics;
using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;
using EventImaging.Core.ServiceDefaults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Telemetry;

/// <summary>
/// The ledger's gauges: requests in flight, the age of the oldest one, and terminal events not yet published.
/// They are read from the database every <see cref="TelemetryOptions.GaugeInterval"/> (three cheap queries on
/// partial indexes) rather than at each collection, so an exporter never waits on the database. Every replica
/// reports the same figures: aggregate them with max, not sum.
/// </summary>
public sealed partial class LedgerGauges : PeriodicService
{
    private readonly IDbContextFactory<LedgerDbContext> contexts;
    private readonly IOptions<TelemetryOptions> options;
    private readonly ILogger<LedgerGauges> logger;
    private volatile Snapshot? latest;

    public LedgerGauges(IDbContextFactory<LedgerDbContext> contexts, IMeterFactory meters, IOptions<TelemetryOptions> options, TimeProvider clock, ILogger<LedgerGauges> logger)
        : base(clock)
    {
        this.contexts = contexts;
        this.options = options;
        this.logger = logger;
        var meter = meters.Create(RequestMetrics.MeterName);
        meter.CreateObservableGauge("eventimaging.requests.in_flight", () => Observe(s => s.InFlight), "{request}", "Requests received and not yet finished.");
        meter.CreateObservableGauge(
            "eventimaging.requests.oldest_in_flight_age",
            () => Observe(s => s.OldestCreatedAt is { } oldest ? Math.Max(0, (Clock.GetUtcNow() - oldest).TotalSeconds) : 0),
            "s",
            "Age of the oldest unfinished request; 0 when none is in flight.");
        meter.CreateObservableGauge("eventimaging.outbox.backlog", () => Observe(s => s.Unpublished), "{event}", "Terminal events written to the ledger and not yet published.");
    }

    /// <summary>The figures of the last successful read, or null before the first.</summary>
    public Snapshot? Latest => latest;

    protected override TimeSpan Interval => options.Value.GaugeInterval;

    protected override Task RunRoundAsync(CancellationToken cancellationToken) => RefreshAsync(cancellationToken);

    // The readiness check reports the outage; the gauges keep their last figures.
    protected override void OnRoundFailed(Exception exception) => LogRefreshFailed(exception);

    public async Task<Snapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var requests = db.Requests.AsNoTracking();
        var inFlight = requests.Where(r => r.FinishedAt == null);
        var snapshot = new Snapshot(
            await inFlight.CountAsync(cancellationToken),
            await inFlight.OrderBy(r => r.CreatedAt).Select(r => (DateTimeOffset?)r.CreatedAt).FirstOrDefaultAsync(cancellationToken),
            await requests.CountAsync(r => r.EventPublishedAt == null && r.FinishedAt != null, cancellationToken));
        latest = snapshot;
        return snapshot;
    }

    private IEnumerable<Measurement<T>> Observe<T>(Func<Snapshot, T> read)
        where T : struct =>
        latest is { } snapshot ? [new Measurement<T>(read(snapshot))] : [];

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the ledger gauges failed; they keep their last figures")]
    private partial void LogRefreshFailed(Exception ex);

    public sealed record Snapshot(int InFlight, DateTimeOffset? OldestCreatedAt, int Unpublished);
}
