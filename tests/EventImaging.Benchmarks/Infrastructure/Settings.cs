namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>The deployed services' settings for a run: its broker virtual host, its ledger database, the simulator.</summary>
internal static class Settings
{
    public const string ApiKey = "sim-key";

    public static Dictionary<string, string?> ForServices(Uri broker, string ledger, Uri simulator) => new()
    {
        ["ConnectionStrings:RabbitMq"] = broker.AbsoluteUri,
        ["ConnectionStrings:Ledger"] = ledger,
        ["Providers:Evolink:BaseUrl"] = new Uri(simulator, "/evolink").AbsoluteUri,
        ["Providers:Evolink:ApiKey"] = ApiKey,
        ["Providers:GptImage15:BaseUrl"] = new Uri(simulator, "/gptimage15").AbsoluteUri,
        ["Providers:GptImage15:ApiKey"] = ApiKey,
        // Callbacks come to 127.0.0.1 over http here; a deployment sets an https public URL.
        ["Callbacks:AllowInsecureHttp"] = "true",
        // All of the benchmark's callbacks come from one address, standing for every provider at once: the per-source
        // limit (1,000/s by default) would cap the measured rate, so it is off, as behind a proxy that limits instead.
        ["Callbacks:RateLimitPerSource"] = "0",
    };
}
