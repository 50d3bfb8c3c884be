namespace EventImaging.Core.Ledger;

/// <summary>This process's name in ledger leases: unique per process, readable by an operator.</summary>
public sealed class WorkerIdentity
{
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
