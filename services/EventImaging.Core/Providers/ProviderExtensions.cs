using EventImaging.Core.Configuration;
using EventImaging.Core.Providers.Evolink;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Providers;

public static class ProviderExtensions
{
    /// <summary>
    /// The provider clients that have a key, each with its own resilience pipeline: a per-attempt timeout,
    /// a circuit breaker per provider, and retries for queries only (a create is never re-sent blindly).
    /// </summary>
    public static IHostApplicationBuilder AddProviders(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ProvidersOptions>().BindConfiguration(ProvidersOptions.Section);
        builder.Services.AddSingleton<ProviderRegistry>();

        var evolinkKey = builder.Configuration[$"{EvolinkOptions.Section}:ApiKey"];
        var configured = !string.IsNullOrWhiteSpace(evolinkKey);
        if (!configured && !builder.IsEmbedded())
        {
            throw EmbeddedMode.MissingSetting($"{EvolinkOptions.Section}:ApiKey", "no image provider has an API key.");
        }

        builder.Services.AddOptions<EvolinkOptions>().BindConfiguration(EvolinkOptions.Section)
            .Validate(o => o.BaseUrl.IsAbsoluteUri && o.BaseUrl.Scheme is "https" or "http", "Providers:Evolink:BaseUrl must be an absolute http(s) URL.")
            .Validate(o => o.RequestTimeout > TimeSpan.Zero, "Providers:Evolink:RequestTimeout must be positive.")
            .ValidateOnStart();
        if (configured)
        {
            builder.Services.AddHttpClient<EvolinkClient>((sp, http) =>
                {
                    var options = sp.GetRequiredService<IOptions<EvolinkOptions>>().Value;
                    http.BaseAddress = WithTrailingSlash(options.BaseUrl);
                    http.Timeout = Timeout.InfiniteTimeSpan;
                })
                .AddStandardResilienceHandler()
                .Configure((resilience, sp) =>
                {
                    var options = sp.GetRequiredService<IOptions<EvolinkOptions>>().Value;
                    resilience.Retry.DisableForUnsafeHttpMethods();
                    resilience.AttemptTimeout.Timeout = options.RequestTimeout;
                    resilience.TotalRequestTimeout.Timeout = options.RequestTimeout * 3;
                    resilience.CircuitBreaker.SamplingDuration = options.RequestTimeout * 2;
                });
            builder.Services.AddTransient<IImageProvider>(sp => sp.GetRequiredService<EvolinkClient>());
        }

        return builder;
    }

    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
