namespace EventImaging.Core.Ledger;

/// <summary>The life of a request. <see cref="Completed"/> and <see cref="Failed"/> are terminal and never left.</summary>
public enum RequestState
{
    Received,
    Submitted,

    /// <summary>The provider finished the task; its images are being copied to EventImaging's store (when archiving is on).</summary>
    Archiving,
    Completed,
    Failed,
}
