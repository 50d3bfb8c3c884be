namespace EventImaging.Core.Providers.GptImage15;

/// <summary>Configuration section <c>Providers:GptImage15</c>.</summary>
public sealed class GptImage15Options
{
    public const string Section = "Providers:GptImage15";

    public Uri BaseUrl { get; set; } = new("https://gptimage15.ai");

    /// <summary>The bearer key. Without one the provider is not available.</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long one HTTP attempt may take before its outcome counts as unknown.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
