namespace EventImaging.Core.Ledger;

/// <summary>Configuration section <c>Ledger</c>.</summary>
public sealed class LedgerOptions
{
    public const string Section = "Ledger";

    /// <summary>Apply pending migrations at start-up. Deployments with many replicas may run them as a separate step instead.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>The embedded mode's SQLite file.</summary>
    public string SqlitePath { get; set; } = "eventimaging.db";
}
