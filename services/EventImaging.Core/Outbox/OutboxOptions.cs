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

    /// <summary>
    /// The longest wait before a sweeper tries an event again after it could not be published. Each try waits as long as
    /// the event has already waited (from <see cref="PublishLease"/> up to this), so an event the broker keeps refusing
    /// costs one try per this interval and never holds up the others, while one delayed by an outage goes out soon after.
    /// </summary>
    public TimeSpan MaxRetryInterval { get; set; } = TimeSpan.FromMinutes(1);
}
