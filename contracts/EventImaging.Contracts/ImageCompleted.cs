namespace EventImaging.Contracts;

/// <summary>Terminal: the image is ready. Its <c>MessageId</c> equals <see cref="RequestId"/>.</summary>
public record ImageCompleted
{
    public required Guid RequestId { get; init; }

    public required string Provider { get; init; }

    public required string Model { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public required string ProviderTaskId { get; init; }

    /// <summary>The provider's result URLs; download them before <see cref="UrlsExpireAt"/>.</summary>
    public required string[] ImageUrls { get; init; }

    public required DateTimeOffset UrlsExpireAt { get; init; }

    /// <summary><c>callback</c> or <c>poll</c>: how EventImaging learnt the outcome.</summary>
    public required string CompletedVia { get; init; }

    public required DateTimeOffset CompletedAt { get; init; }

    public double? CreditsUsed { get; init; }
}
