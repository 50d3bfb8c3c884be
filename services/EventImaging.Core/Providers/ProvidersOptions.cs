namespace EventImaging.Core.Providers;

/// <summary>Configuration section <c>Providers</c>: which provider and model serve a request that names none.</summary>
public sealed class ProvidersOptions
{
    public const string Section = "Providers";

    public string Default { get; set; } = "evolink";

    public string DefaultModel { get; set; } = "gpt-image-1.5";

    /// <summary>
    /// Optional, ordered: where a request that named no provider goes next when its provider is unavailable
    /// (circuit open) or refuses it for a reason another provider would not (insufficient quota, unauthorized).
    /// </summary>
    public string[] Failover { get; set; } = [];
}
