namespace EventImaging.Contracts;

/// <summary>
/// Command: generate one image. Publish to the exchange <c>EventImaging.Contracts:GenerateImage</c>,
/// either as a MassTransit envelope or as a plain camelCase JSON body (<c>application/json</c>).
/// Exactly one <see cref="ImageCompleted"/> or <see cref="ImageFailed"/> follows per <see cref="RequestId"/>.
/// </summary>
public record GenerateImage
{
    /// <summary>The caller's idempotency key; the correlation id of every event about this request.</summary>
    public required Guid RequestId { get; init; }

    public required string Prompt { get; init; }

    /// <summary><c>1024x1024</c> (default), <c>1024x1536</c>, <c>1536x1024</c>, <c>1:1</c>, <c>2:3</c>, <c>3:2</c>.</summary>
    public string? Size { get; init; }

    /// <summary><c>low</c>, <c>medium</c>, <c>high</c>, or <c>auto</c> where the model accepts it.</summary>
    public string? Quality { get; init; }

    /// <summary>Image-to-image / edit: 1 to 16 absolute https URLs on public hosts.</summary>
    public string[]? ImageUrls { get; init; }

    /// <summary><c>low</c> or <c>high</c>; only where the provider supports it.</summary>
    public string? InputFidelity { get; init; }

    /// <summary><c>evolink</c> or <c>gptimage15</c>; null means the configured default.</summary>
    public string? Provider { get; init; }

    /// <summary><c>gpt-image-1.5</c> or <c>gpt-image-1.5-beta</c>; null means the configured default.</summary>
    public string? Model { get; init; }

    /// <summary>Give up after this instant; null means the configured default.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Opaque to EventImaging; echoed on every event.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
