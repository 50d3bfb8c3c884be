using EventImaging.Core.Configuration;

namespace EventImaging.Host.Embedded;

public static class EmbeddedDefaults
{
    /// <summary>The address the Host listens on when neither <c>--urls</c> nor <c>Urls</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// Every role in one process with no broker, database or key: the in-memory bus and a SQLite ledger
    /// unless their connection strings are set, and the real provider clients pointed at the simulator this
    /// process hosts. Settings given explicitly always win.
    /// </summary>
    public static WebApplicationBuilder AddEmbeddedDefaults(this WebApplicationBuilder builder)
    {
        var self = SelfUrl(builder.Configuration["urls"] ?? DefaultUrl);
        var defaults = new Dictionary<string, string?>
        {
            [EmbeddedMode.Key] = "true",
            ["urls"] = DefaultUrl,
            ["Callbacks:PublicBaseUrl"] = self,
            ["Callbacks:AllowInsecureHttp"] = "true",
            ["Providers:Evolink:BaseUrl"] = $"{self}/evolink",
            ["Providers:Evolink:ApiKey"] = "sim-key",
            ["Providers:GptImage15:BaseUrl"] = $"{self}/gptimage15",
            ["Providers:GptImage15:ApiKey"] = "sim-key",
            ["Simulator:AllowInsecureCallbacks"] = "true",
            // Result images are copied next to the ledger file and served by the Host itself at /files.
            ["Archive:Store"] = "filesystem",
            ["Archive:FileSystem:Root"] = "eventimaging-files",
            ["Archive:FileSystem:PublicBaseUrl"] = $"{self}/files",
            ["Archive:AllowInsecureDownloads"] = "true",
        };
        var missing = defaults.Where(setting => builder.Configuration[setting.Key] is null).ToDictionary();
        builder.Configuration.AddInMemoryCollection(missing);
        return builder;
    }

    /// <summary>The first listening URL as a client on this machine reaches it.</summary>
    internal static string SelfUrl(string urls)
    {
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        var uri = new UriBuilder(first.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "localhost" or "[::]")
        {
            uri.Host = "127.0.0.1";
        }

        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }
}
