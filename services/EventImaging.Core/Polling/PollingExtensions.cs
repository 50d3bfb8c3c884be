using EventImaging.Core.Callbacks;
using EventImaging.Core.Submission;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Polling;

public static class PollingExtensions
{
    /// <summary>The polling fallback: queries tasks whose callback never came and ends requests at their deadline.</summary>
    public static IHostApplicationBuilder AddPollingFallback(this IHostApplicationBuilder builder)
    {
        builder.AddCallbackTokens();
        builder.AddPollingOptions();
        builder.Services.TryAddSingleton<WorkerIdentity>();
        builder.Services.AddSingleton<PollingFallback>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PollingFallback>());
        return builder;
    }

    internal static IHostApplicationBuilder AddPollingOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PollingOptions>().BindConfiguration(PollingOptions.Section)
            .Validate(o => o.Interval > TimeSpan.Zero && o.BatchSize > 0, "Polling:Interval and Polling:BatchSize must be positive.")
            .Validate(o => o.Lease >= TimeSpan.FromSeconds(10), "Polling:Lease must be at least 10 seconds: a status query (with its retries) must end within three quarters of it.")
            .Validate(o => o.ConcurrencyPerProvider > 0, "Polling:ConcurrencyPerProvider must be positive.")
            .Validate(o => o.InitialInterval > TimeSpan.Zero && o.MaxInterval >= o.InitialInterval, "Polling:InitialInterval must be positive and at most Polling:MaxInterval.")
            .Validate(o => o.Jitter is >= 0 and < 1, "Polling:Jitter must be in [0, 1).")
            .ValidateOnStart();
        return builder;
    }
}
