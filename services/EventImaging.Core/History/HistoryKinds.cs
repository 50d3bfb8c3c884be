namespace EventImaging.Core.History;

/// <summary>The kinds of <see cref="HistoryEntry"/>, as the operator's timeline names its steps.</summary>
public static class HistoryKinds
{
    /// <summary>The command was recorded (or came again: a duplicate).</summary>
    public const string Received = "received";

    /// <summary>One create call and what came of it.</summary>
    public const string Submit = "submit";

    /// <summary>The request moved to another provider.</summary>
    public const string Failover = "failover";

    /// <summary>A provider callback behind a genuine token: applied, progress, duplicate, stale, refused or unreadable.</summary>
    public const string Callback = "callback";

    /// <summary>A status query and the status it saw.</summary>
    public const string Poll = "poll";

    /// <summary>The outcome is known and its images are being copied; each copy attempt and what came of it.</summary>
    public const string Archive = "archive";

    /// <summary>A cancel was asked for.</summary>
    public const string Cancel = "cancel";

    /// <summary>The terminal transitions.</summary>
    public const string Completed = "completed";

    public const string Failed = "failed";

    /// <summary>
    /// The terminal event reached the broker and was marked so: a step of the timeline read from the row's
    /// <c>event_published_at</c>, which records it already, not a history entry of its own (histories written before
    /// 2026-12-07 hold it as one).
    /// </summary>
    public const string Published = "published";

    /// <summary>The outbox sweeper published the event (again): its writer had not marked it.</summary>
    public const string Republished = "republished";

    /// <summary>
    /// Kinds written whatever the request's history already holds: each happens once per request (the terminal
    /// transition). The others, which a caller, a provider or time can repeat (duplicates, callbacks, polls, cancels,
    /// republishes), stop being recorded once a request has <c>Ledger:HistoryLimit</c> entries.
    /// </summary>
    public static readonly string[] AlwaysKept = [Completed, Failed];

    public static bool IsAlwaysKept(string kind) => AlwaysKept.Contains(kind);
}
