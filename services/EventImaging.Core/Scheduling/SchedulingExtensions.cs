using EventImaging.Core.Callbacks;
using EventImaging.Core.Configuration;
using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Scheduling;

public static class SchedulingExtensions
{
    /// <summary>
    /// The scheduler: claims every due row and hands it to the handler of its state (registered by <c>AddSubmitter</c> for
    /// received rows and <c>AddPollingFallback</c> for submitted ones), and ends requests at their deadline.
    /// </summary>
    public static IHostApplicationBuilder AddScheduler(this IHostApplicationBuilder builder)
    {
        builder.AddCallbackTokens();
        builder.AddSchedulingOptions();
        builder.AddDueRows();
        builder.Services.AddSingleton<DueRowScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DueRowScheduler>());
        return builder;
    }

    /// <summary>
    /// The due-row statements, for anything that makes a row due (an unreadable callback) or acts on one. One instance per
    /// process, so that the reschedules of every cycle share its group commit.
    /// </summary>
    public static IHostApplicationBuilder AddDueRows(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<WorkerIdentity>();
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<RequestMetrics>();
        builder.Services.TryAddSingleton<DueRows>();
        return builder;
    }

    /// <summary>The <c>Polling</c> settings: when due rows are claimed and when a task is first and next queried.</summary>
    public static IHostApplicationBuilder AddSchedulingOptions(this IHostApplicationBuilder builder)
    {
        if (!builder.FirstTime(nameof(PollingOptions)))
        {
            return builder;
        }

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
