namespace EventImaging.Core.Ledger;

/// <summary>The life of a request. <see cref="Completed"/> and <see cref="Failed"/> are terminal and never left.</summary>
public enum RequestState
{
    Received,
    Submitted,
    Completed,
    Failed,
}
