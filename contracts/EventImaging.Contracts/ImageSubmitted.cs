namespace EventImaging.Contracts;

/// <summary>Informational: the provider accepted the request and is generating.</summary>
public record ImageSubmitted
{
    public required Guid RequestId { get; init; }

    public required string Provider { get; init; }

    public required string Model { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public required string ProviderTaskId { get; init; }

    public required DateTimeOffset SubmittedAt { get; init; }

    /// <summary>The provider's own estimate; informational only.</summary>
    public int? EstimatedSeconds { get; init; }

    /// <summary>Credits the provider reserved for the task, when it says.</summary>
    public double? CreditsReserved { get; init; }
}
