using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Configuration;

/// <summary>
/// The single-process developer mode of the Host. Only there may the bus fall back to the in-memory transport
/// and the ledger to SQLite; a deployed service without a broker or database refuses to start.
/// </summary>
public static class EmbeddedMode
{
    public const string Key = "EventImaging:Embedded";

    public static bool IsEmbedded(this IHostApplicationBuilder builder) => builder.Configuration.GetValue<bool>(Key);

    /// <summary>A start-up failure that names the missing setting in both its configuration and environment forms.</summary>
    public static InvalidOperationException MissingSetting(string key, string why) =>
        new($"Configuration '{key}' (environment variable {key.Replace(":", "__", StringComparison.Ordinal)}) is not set: {why}");
}
