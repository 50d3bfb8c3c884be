namespace EventImaging.Contracts;

/// <summary>Terminal: the image is ready. Its <c>MessageId</c> equals <see cref="RequestId"/>.</summary>
public record ImageCompleted
{
    public required Guid RequestId { get; init; }

    public required string Provider { get; init; }

    public required string Model { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public required string ProviderTaskId { get; init; }

    /// <summary>
    /// Where to download the images: EventImaging's own copies when <see cref="Archived"/> is true, otherwise the
    /// provider's result URLs. Either way they work until <see cref="UrlsExpireAt"/>.
    /// </summary>
    public required string[] ImageUrls { get; init; }

    /// <summary>When <see cref="ImageUrls"/> stop working; <c>9999-12-31T23:59:59.9999999+00:00</c> when they do not expire.</summary>
    public required DateTimeOffset UrlsExpireAt { get; init; }

    /// <summary>
    /// True when every image was copied to EventImaging's store (<see cref="Images"/>); false when the copy could not be
    /// made (<see cref="ArchiveError"/> says why, and <see cref="ImageUrls"/> are the provider's); null when archiving is off.
    /// </summary>
    public bool? Archived { get; init; }

    /// <summary>Why the images could not be copied, when <see cref="Archived"/> is false.</summary>
    public string? ArchiveError { get; init; }

    /// <summary>The stored images, in the provider's order, when <see cref="Archived"/> is true.</summary>
    public StoredImage[]? Images { get; init; }

    /// <summary><c>callback</c> or <c>poll</c>: how EventImaging learnt the outcome.</summary>
    public required string CompletedVia { get; init; }

    public required DateTimeOffset CompletedAt { get; init; }

    public double? CreditsUsed { get; init; }
}
