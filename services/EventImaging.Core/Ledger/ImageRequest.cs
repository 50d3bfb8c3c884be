namespace EventImaging.Core.Ledger;

/// <summary>One row per request, keyed by the caller's <see cref="RequestId"/>: the single source of truth.</summary>
public sealed class ImageRequest
{
    public Guid RequestId { get; set; }

    public required string Provider { get; set; }

    public required string Model { get; set; }

    public RequestState State { get; set; }

    /// <summary>The validated, normalised command as JSON: what to send to the provider and what to echo.</summary>
    public required string CommandJson { get; set; }

    public string? ProviderTaskId { get; set; }

    public int Progress { get; set; }

    public int SubmitAttempts { get; set; }

    public int PollCount { get; set; }

    /// <summary>Attempts to copy the result images that failed so far (archiving).</summary>
    public int ArchiveAttempts { get; set; }

    /// <summary>A create call was started and its outcome is not known yet (or never became known: a timeout, a crash).</summary>
    public bool AttemptInFlight { get; set; }

    /// <summary>How many create calls ended with an unknown outcome; the ambiguous-submit policy allows one re-send.</summary>
    public int UnknownOutcomes { get; set; }

    /// <summary>When the row next needs attention (a retry or a poll); null when nothing is due.</summary>
    public DateTimeOffset? NextActionAt { get; set; }

    public string? LeaseOwner { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public DateTimeOffset Deadline { get; set; }

    public string? ResultUrlsJson { get; set; }

    public string? ErrorCode { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>W3C <c>traceparent</c> of the command, so the callback or poll can continue its trace.</summary>
    public string? TraceParent { get; set; }

    public string? TraceState { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? SubmittedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The terminal event, written with the terminal transition: the row is its own outbox.</summary>
    public string? EventType { get; set; }

    public string? EventJson { get; set; }

    public DateTimeOffset? EventPublishedAt { get; set; }
}
