using EventImaging.Core.Configuration;
using EventImaging.Core.Providers.Evolink;
using EventImaging.Core.Providers.GptImage15;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Providers;

public static class ProviderExtensions
{
    /// <summary>
    /// The provider clients that have a key (a provider without one is simply not available), each with its own
    /// resilience pipeline: a per-attempt timeout, a circuit breaker per provider, and retries for queries only
    /// (a create is never re-sent blindly).
    /// </summary>
    public static IHostApplicationBuilder AddProviders(this IHostApplicationBuilder builder)
    {
        var available = new List<string>();
        if (builder.AddProvider<EvolinkClient, EvolinkOptions>(EvolinkOptions.Section, o => o.BaseUrl, o => o.RequestTimeout))
        {
            available.Add(EvolinkClient.ProviderName);
        }

        if (builder.AddProvider<GptImage15Client, GptImage15Options>(GptImage15Options.Section, o => o.BaseUrl, o => o.RequestTimeout))
        {
            available.Add(GptImage15Client.ProviderName);
        }

        if (available.Count == 0 && !builder.IsEmbedded())
        {
            throw EmbeddedMode.MissingSetting($"{EvolinkOptions.Section}:ApiKey", $"no image provider has an API key (set it, or {GptImage15Options.Section}:ApiKey).");
        }

        builder.Services.AddOptions<ProvidersOptions>().BindConfiguration(ProvidersOptions.Section)
            .Validate(
                o => available.Contains(o.Default, StringComparer.OrdinalIgnoreCase),
                $"Providers:Default must name a provider that has an API key ({(available.Count == 0 ? "none has" : string.Join(", ", available))}).")
            .ValidateOnStart();
        builder.Services.AddSingleton<ProviderRegistry>();
        return builder;
    }

    private static bool AddProvider<TClient, TOptions>(
        this IHostApplicationBuilder builder,
        string section,
        Func<TOptions, Uri> baseUrl,
        Func<TOptions, TimeSpan> timeout)
        where TClient : class, IImageProvider
        where TOptions : class
    {
        builder.Services.AddOptions<TOptions>().BindConfiguration(section)
            .Validate(o => baseUrl(o) is { IsAbsoluteUri: true, Scheme: "https" or "http" }, $"{section}:BaseUrl must be an absolute http(s) URL.")
            .Validate(o => timeout(o) > TimeSpan.Zero, $"{section}:RequestTimeout must be positive.")
            .ValidateOnStart();
        if (string.IsNullOrWhiteSpace(builder.Configuration[$"{section}:ApiKey"]))
        {
            return false;
        }

        builder.Services.AddHttpClient<TClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<TOptions>>().Value;
                http.BaseAddress = WithTrailingSlash(baseUrl(options));
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddStandardResilienceHandler()
            .Configure((resilience, sp) =>
            {
                var attempt = timeout(sp.GetRequiredService<IOptions<TOptions>>().Value);
                resilience.Retry.DisableForUnsafeHttpMethods();
                resilience.AttemptTimeout.Timeout = attempt;
                resilience.TotalRequestTimeout.Timeout = attempt * 3;
                resilience.CircuitBreaker.SamplingDuration = attempt * 2;
            });
        builder.Services.AddTransient<IImageProvider>(sp => sp.GetRequiredService<TClient>());
        return true;
    }

    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
