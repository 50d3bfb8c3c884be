namespace EventImaging.Core.Telemetry;

/// <summary>Configuration section <c>Telemetry</c>.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Print spans and metrics to standard output, for local debugging.</summary>
    public bool ConsoleExporter { get; set; }

    /// <summary>How often the ledger gauges (in flight, oldest in flight, outbox backlog) are read from the database.</summary>
    public TimeSpan GaugeInterval { get; set; } = TimeSpan.FromSeconds(15);
}
