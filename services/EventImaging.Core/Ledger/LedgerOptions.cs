namespace EventImaging.Core.Ledger;

/// <summary>Configuration section <c>Ledger</c>.</summary>
public sealed class LedgerOptions
{
    public const string Section = "Ledger";

    /// <summary>Apply pending migrations at start-up. Deployments with many replicas may run them as a separate step instead.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>The embedded mode's SQLite file.</summary>
    public string SqlitePath { get; set; } = "eventimaging.db";

    /// <summary>
    /// How long a finished request (its row, which holds the prompt, and its history) is kept after it ended; then it is
    /// deleted. <see cref="TimeSpan.Zero"/> keeps everything. A command repeated after its row is gone is a new request.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the retention sweep looks for expired requests.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Requests deleted per statement by the retention sweep.</summary>
    public int RetentionBatchSize { get; set; } = 500;

    /// <summary>History entries kept per request; past it, duplicates, callbacks and polls are no longer recorded.</summary>
    public int HistoryLimit { get; set; } = 100;
}
