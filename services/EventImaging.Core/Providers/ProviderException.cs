namespace EventImaging.Core.Providers;

public enum ProviderFailureKind
{
    /// <summary>The provider refused the request; sending it again will fail the same way.</summary>
    Rejected,

    /// <summary>The provider or network failed before acting (429, 5xx, refused connection); a later attempt may succeed.</summary>
    Transient,

    /// <summary>The request was sent but no answer came: the provider may or may not have created the task.</summary>
    OutcomeUnknown,

    /// <summary>
    /// The provider accepted the create but its answer cannot be used (no task id, one too long to keep): the task likely
    /// exists and is billed, so it is never sent again; only its callback can still finish the request.
    /// </summary>
    AcceptedUnusable,
}

/// <summary>A failed provider call, typed by whose fault it is.</summary>
public sealed class ProviderException(
    ProviderFailureKind kind,
    ProviderFailure failure,
    int? httpStatus = null,
    TimeSpan? retryAfter = null,
    Exception? inner = null) : Exception(failure.Message, inner)
{
    public ProviderFailureKind Kind { get; } = kind;

    public ProviderFailure Failure { get; } = failure;

    public int? HttpStatus { get; } = httpStatus;

    /// <summary>The provider's <c>Retry-After</c>, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>A provider body EventImaging cannot read.</summary>
public sealed class ProviderPayloadException(string message, Exception? inner = null) : Exception(message, inner);
