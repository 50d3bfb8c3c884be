namespace EventImaging.Core.Providers;

/// <summary>What a provider's API accepts, per its documents: the validator checks requests against this.</summary>
public sealed record ProviderCapabilities(
    string Provider,
    IReadOnlyDictionary<string, ModelCapabilities> Models,
    IReadOnlyDictionary<string, string> ModelAliases,
    int MaxPromptLength,
    int MaxImageUrls,
    bool SupportsInputFidelity,
    TimeSpan ResultUrlLifetime)
{
    /// <summary>The canonical model name for <paramref name="model"/>, or null when the provider has no such model.</summary>
    public string? ResolveModel(string model)
    {
        var canonical = ModelAliases.TryGetValue(model, out var alias) ? alias : model;
        return Models.ContainsKey(canonical) ? canonical : null;
    }
}

public sealed record ModelCapabilities(IReadOnlySet<string> Sizes, IReadOnlySet<string> Qualities);
