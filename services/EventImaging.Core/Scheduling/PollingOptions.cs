namespace EventImaging.Core.Scheduling;

/// <summary>Configuration section <c>Polling</c>: the fallback that finds outcomes whose callback never came.</summary>
public sealed class PollingOptions
{
    public const string Section = "Polling";

    /// <summary>How often a replica looks for due rows when the last look found less than a full batch.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Rows claimed per look.</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>How long a claim lasts; a replica killed mid-batch loses its rows to another after this.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Status queries in flight at once, per provider and replica.</summary>
    public int ConcurrencyPerProvider { get; set; } = 8;

    /// <summary>With callbacks on: first query this long after the provider's estimate (the callback usually wins).</summary>
    public TimeSpan FirstPollGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>In polling-only mode: first query this long after the provider's estimate.</summary>
    public TimeSpan FirstPollWithoutCallbacks { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The wait after the first unfinished query; it doubles after each one, up to <see cref="MaxInterval"/>.</summary>
    public TimeSpan InitialInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Each wait is spread by up to this fraction either way, so replicas and tasks do not align.</summary>
    public double Jitter { get; set; } = 0.2;
}
