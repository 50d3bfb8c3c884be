using EventImaging.Core.Archiving;
using EventImaging.Core.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Polling;

public static class PollingExtensions
{
    /// <summary>
    /// The polling fallback (<see cref="StatusPoll"/>): queries the tasks whose callback never came, and takes the last look
    /// at their deadline. It acts on the rows <c>AddScheduler</c> claims.
    /// </summary>
    public static IHostApplicationBuilder AddPollingFallback(this IHostApplicationBuilder builder)
    {
        builder.AddSchedulingOptions();
        builder.AddDueRows();
        builder.AddArchiveSettings();
        builder.Services.AddSingleton<IDueRowHandler, StatusPoll>();
        return builder;
    }
}
