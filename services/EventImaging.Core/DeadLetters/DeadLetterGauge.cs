using System.Diagnostics.Metrics;
using EventImaging.Core.Telemetry;
using EventImaging.Core.ServiceDefaults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.DeadLetters;

/// <summary>
/// <c>eventimaging.commands.dead_letter_depth</c>: messages waiting in each error queue, labelled with the error
/// queue's name. Read from the broker every <see cref="TelemetryOptions.GaugeInterval"/> (one passive declare per
/// queue) rather than at each collection, so an exporter never waits on the broker. Every replica reports the same
/// figures: aggregate them with max, not sum.
/// </summary>
public sealed partial class DeadLetterGauge : PeriodicService
{
    private readonly DeadLetterQueues queues;
    private readonly IOptions<TelemetryOptions> options;
    private readonly ILogger<DeadLetterGauge> logger;
    private volatile IReadOnlyDictionary<CommandQueue, uint>? latest;

    public DeadLetterGauge(DeadLetterQueues queues, IMeterFactory meters, IOptions<TelemetryOptions> options, TimeProvider clock, ILogger<DeadLetterGauge> logger)
        : base(clock)
    {
        this.queues = queues;
        this.options = options;
        this.logger = logger;
        meters.Create(RequestMetrics.MeterName).CreateObservableGauge(
            "eventimaging.commands.dead_letter_depth",
            Observe,
            "{message}",
            "Messages waiting in a command's error queue (label queue: the error queue).");
    }

    /// <summary>The depths of the last successful read, or null before the first.</summary>
    public IReadOnlyDictionary<CommandQueue, uint>? Latest => latest;

    protected override TimeSpan Interval => options.Value.GaugeInterval;

    protected override Task RunRoundAsync(CancellationToken cancellationToken) => RefreshAsync(cancellationToken);

    // The readiness check reports a broker outage; the gauge keeps its last figures.
    protected override void OnRoundFailed(Exception exception) => LogRefreshFailed(exception);

    public async Task<IReadOnlyDictionary<CommandQueue, uint>> RefreshAsync(CancellationToken cancellationToken)
    {
        var depths = new Dictionary<CommandQueue, uint>();
        foreach (var queue in CommandQueue.All)
        {
            depths[queue] = await queues.CountAsync(queue, cancellationToken);
        }

        latest = depths;
        return depths;
    }

    private IEnumerable<Measurement<long>> Observe() =>
        latest is { } depths
            ? [.. depths.Select(d => new Measurement<long>(d.Value, new KeyValuePair<string, object?>("queue", d.Key.ErrorQueue)))]
            : [];

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the error queues' depths failed; the gauge keeps its last figures")]
    private partial void LogRefreshFailed(Exception ex);
}
