namespace EventImaging.Core.Providers;

/// <summary>A validated request in EventImaging's own vocabulary; each client maps it onto its provider's fields.</summary>
public sealed record ProviderSubmission(
    string Model,
    string Prompt,
    string Size,
    string? Quality,
    IReadOnlyList<string>? ImageUrls,
    string? InputFidelity,
    Uri? CallbackUrl);
