namespace EventImaging.Contracts;

/// <summary>One result image as EventImaging stored it (<see cref="ImageCompleted.Images"/>).</summary>
public record StoredImage
{
    /// <summary>The durable copy: a presigned or public object-store URL.</summary>
    public required string Url { get; init; }

    /// <summary>Taken from the bytes: <c>image/png</c>, <c>image/jpeg</c> or <c>image/webp</c>.</summary>
    public required string ContentType { get; init; }

    public required long Bytes { get; init; }

    /// <summary>Lower-case hex SHA-256 of the bytes.</summary>
    public required string Sha256 { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    /// <summary>The provider's own URL, which stops working at <see cref="ProviderUrlExpiresAt"/>.</summary>
    public required string ProviderUrl { get; init; }

    public DateTimeOffset? ProviderUrlExpiresAt { get; init; }
}
