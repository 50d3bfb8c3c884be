namespace EventImaging.Core.Outbox;

/// <summary>Configuration section <c>Outbox</c>.</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>How often the sweeper looks for terminal rows whose event was not published.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the writer of a terminal transition owns the publishing of its event; only after this may a
    /// sweeper take it over. Longer than any normal publish, short enough to bound the delay after a crash.
    /// </summary>
    public TimeSpan PublishLease { get; set; } = TimeSpan.FromSeconds(30);

    public int BatchSize { get; set; } = 100;
}
