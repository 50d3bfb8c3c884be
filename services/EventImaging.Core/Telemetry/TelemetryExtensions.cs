using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>The ledger's gauges (<see cref="LedgerGauges"/>), read from the database in the background. Needs <c>AddLedger</c>.</summary>
    public static IHostApplicationBuilder AddLedgerGauges(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section)
            .Validate(o => o.GaugeInterval > TimeSpan.Zero, "Telemetry:GaugeInterval must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<LedgerGauges>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerGauges>());
        return builder;
    }
}
