namespace EventImaging.Core.Providers;

/// <summary>The providers that are available: configured, with a key.</summary>
public sealed class ProviderRegistry(IEnumerable<IImageProvider> providers)
{
    private readonly Dictionary<string, IImageProvider> byName = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public IImageProvider? Find(string name) => byName.GetValueOrDefault(name);
}
