namespace EventImaging.Contracts;

/// <summary>Terminal: the request will not produce an image. Its <c>MessageId</c> equals <see cref="RequestId"/>.</summary>
public record ImageFailed
{
    public required Guid RequestId { get; init; }

    /// <summary>The provider that served (or would have served) the request; null when none could be chosen.</summary>
    public string? Provider { get; init; }

    public string? Model { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public string? ProviderTaskId { get; init; }

    /// <summary>Stable, ours: see <see cref="FailureCodes"/>.</summary>
    public required string Code { get; init; }

    /// <summary>The provider's own code, when it gave one.</summary>
    public string? ProviderCode { get; init; }

    public required string Message { get; init; }

    /// <summary>Would the same request succeed if sent again later?</summary>
    public required bool Retryable { get; init; }

    public required DateTimeOffset FailedAt { get; init; }

    public double? CreditsUsed { get; init; }
}
