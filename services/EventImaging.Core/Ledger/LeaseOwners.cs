namespace EventImaging.Core.Ledger;

/// <summary>Who may hold a row's lease besides a named worker.</summary>
public static class LeaseOwners
{
    /// <summary>
    /// A terminal row whose writer is publishing its event: sweepers keep off until the publish lease has passed, so an
    /// event is normally published once, by the process that decided it.
    /// </summary>
    public const string Outbox = "outbox";
}
