namespace EventImaging.Core.History;

/// <summary>One thing that happened to a request: a row of the append-only <c>request_history</c> table.</summary>
public sealed class HistoryEntry
{
    /// <summary>Increasing in the order the entries were written: the timeline's order.</summary>
    public long Id { get; set; }

    public Guid RequestId { get; set; }

    public DateTimeOffset At { get; set; }

    /// <summary>What happened (<see cref="HistoryKinds"/>).</summary>
    public required string Kind { get; set; }

    /// <summary>In words, bounded (<see cref="DetailLength"/>); never a token, a key or a prompt.</summary>
    public required string Detail { get; set; }

    public const int KindLength = 32;

    public const int DetailLength = 512;
}
