namespace EventImaging.Core.Ledger;

/// <summary>
/// The transition rules of the ledger, as a pure function. Every write is a compare-and-set whose expected states come
/// from here, so of two racing writers exactly one wins.
/// </summary>
public static class RequestTransitions
{
    public static bool IsTerminal(this RequestState state) => state is RequestState.Completed or RequestState.Failed;

    public static bool IsAllowed(RequestState from, RequestState to) => (from, to) switch
    {
        (RequestState.Received, RequestState.Submitted) => true,
        // A callback can overtake the submitter's own record of the task id; it may settle a received row.
        (RequestState.Received or RequestState.Submitted, RequestState.Archiving or RequestState.Completed or RequestState.Failed) => true,
        (RequestState.Archiving, RequestState.Completed or RequestState.Failed) => true,
        _ => false,
    };

    /// <summary>
    /// The states an outcome learnt from the provider (callback, status query, create, deadline) may leave: only while
    /// the outcome is not known. Once a row is archiving, no later provider news can change what it ends with.
    /// </summary>
    public static readonly RequestState[] BeforeOutcome = [RequestState.Received, RequestState.Submitted];

    /// <summary>The state the archive step's outcome leaves.</summary>
    public static readonly RequestState[] WhileArchiving = [RequestState.Archiving];

    /// <summary>The states a cancel may leave: every one that is not terminal.</summary>
    public static readonly RequestState[] NotTerminal = [RequestState.Received, RequestState.Submitted, RequestState.Archiving];
}
