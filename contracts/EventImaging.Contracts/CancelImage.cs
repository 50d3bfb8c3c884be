namespace EventImaging.Contracts;

/// <summary>
/// Command: stop a request that has not ended yet. Publish to the exchange <c>EventImaging.Contracts:CancelImage</c>,
/// as a MassTransit envelope or as plain camelCase JSON. A request that was not yet terminal ends with exactly one
/// <see cref="ImageFailed"/> whose code is <c>cancelled</c>; cancelling a finished or unknown request changes nothing.
/// </summary>
public record CancelImage
{
    /// <summary>The <see cref="GenerateImage.RequestId"/> of the request to stop.</summary>
    public required Guid RequestId { get; init; }

    /// <summary>Why, in words; echoed in the <see cref="ImageFailed.Message"/> (cut to 500 characters).</summary>
    public string? Reason { get; init; }
}
