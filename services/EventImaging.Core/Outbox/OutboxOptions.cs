namespace EventImaging.Core.Outbox;

/// <summary>Configuration section <c>Outbox</c>.</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>How often the sweeper looks for terminal rows whose event was not published.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How old an unpublished terminal row must be before the sweeper takes it from its writer.</summary>
    public TimeSpan SweepAfter { get; set; } = TimeSpan.FromSeconds(10);

    public int BatchSize { get; set; } = 100;
}
