namespace EventImaging.Core.Providers.Evolink;

/// <summary>Configuration section <c>Providers:Evolink</c>.</summary>
public sealed class EvolinkOptions
{
    public const string Section = "Providers:Evolink";

    public Uri BaseUrl { get; set; } = new("https://api.evolink.ai");

    /// <summary>The bearer key. Without one the provider is not available.</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long one HTTP attempt may take before its outcome counts as unknown.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
