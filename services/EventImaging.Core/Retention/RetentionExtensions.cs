using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Retention;

public static class RetentionExtensions
{
    /// <summary>The retention sweep (<see cref="RetentionSweeper"/>), settings <c>Ledger:Retention*</c>. Needs <c>AddLedger</c>.</summary>
    public static IHostApplicationBuilder AddRetention(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ExpiredRequests>();
        builder.Services.AddSingleton<RetentionSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        return builder;
    }
}
