namespace EventImaging.Core.Ledger;

/// <summary>
/// The transition rules of the ledger, as a pure function. Every write in <see cref="RequestLedger"/>
/// is a compare-and-set whose expected states come from here, so of two racing writers exactly one wins.
/// </summary>
public static class RequestTransitions
{
    public static bool IsTerminal(this RequestState state) => state is RequestState.Completed or RequestState.Failed;

    public static bool IsAllowed(RequestState from, RequestState to) => (from, to) switch
    {
        (RequestState.Received, RequestState.Submitted) => true,
        // A callback can overtake the submitter's own record of the task id; it may finish a received row.
        (RequestState.Received, RequestState.Completed or RequestState.Failed) => true,
        (RequestState.Submitted, RequestState.Completed or RequestState.Failed) => true,
        _ => false,
    };

    /// <summary>The states from which <paramref name="to"/> may be entered.</summary>
    public static RequestState[] SourcesOf(RequestState to) =>
        Enum.GetValues<RequestState>().Where(from => IsAllowed(from, to)).ToArray();
}
