using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Outbox;

public static class OutboxExtensions
{
    /// <summary>
    /// Ending requests (<see cref="RequestFinisher"/>: the terminal transition, group-committed, and the publish of its
    /// event) and the sweeper that republishes every event that did not reach the broker. Needs <c>AddLedger</c>.
    /// </summary>
    public static IHostApplicationBuilder AddOutbox(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section)
            .Validate(o => o.SweepInterval > TimeSpan.Zero && o.BatchSize > 0, "Outbox:SweepInterval and Outbox:BatchSize must be positive.")
            .ValidateOnStart();
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<RequestMetrics>();
        builder.Services.AddSingleton<TerminalRows>();
        builder.Services.AddSingleton<OutboxRows>();
        builder.Services.AddSingleton<LedgerBatches>();
        builder.Services.AddSingleton<TerminalEventPublisher>();
        builder.Services.AddSingleton<RequestFinisher>();
        builder.Services.AddSingleton<OutboxSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxSweeper>());
        return builder;
    }
}
