using EventImaging.Core.Configuration;
using EventImaging.Core.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Archiving;

public static class ArchivingExtensions
{
    /// <summary>
    /// The archive step (<see cref="ArchiveStep"/>, the handler of archiving due rows that <c>AddScheduler</c> claims) and
    /// the store it copies into, when <c>Archive:Store</c> names one. Every service whose callbacks or polls learn
    /// outcomes reads the same settings (<see cref="AddArchiveSettings"/>), so they send completed tasks to archiving.
    /// </summary>
    public static IHostApplicationBuilder AddArchiving(this IHostApplicationBuilder builder)
    {
        builder.AddArchiveSettings();
        builder.AddImageStore();
        if (ArchiveStores.Normalize(builder.Configuration[$"{ArchiveOptions.Section}:{nameof(ArchiveOptions.Store)}"]) != ArchiveStores.None)
        {
            builder.AddSchedulingOptions();
            builder.AddDueRows();
            builder.Services.AddHttpClient(SafeDownloader.ClientName)
                .ConfigurePrimaryHttpMessageHandler(sp => SafeDownloader.CreateHandler(sp.GetRequiredService<IOptions<ArchiveOptions>>().Value))
                // Timeouts are the downloader's own (connect, then per read); the client's default would cut a slow, healthy file.
                .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
            builder.Services.AddSingleton<SafeDownloader>();
            builder.Services.AddSingleton<ImageCopier>();
            builder.Services.AddSingleton<ArchiveRows>();
            builder.Services.AddSingleton<IDueRowHandler, ArchiveStep>();
            if (!builder.IsEmbedded() && builder.Configuration.GetValue<bool>($"{ArchiveOptions.Section}:{nameof(ArchiveOptions.AllowInsecureDownloads)}"))
            {
                builder.Services.AddHostedService<InsecureDownloadsWarning>();
            }
        }

        return builder;
    }

    /// <summary>The <c>Archive</c> settings alone, for the services that learn outcomes (receiver, poller) and so decide whether one is archived.</summary>
    public static IHostApplicationBuilder AddArchiveSettings(this IHostApplicationBuilder builder)
    {
        if (builder.FirstTime(nameof(ArchiveOptions)))
        {
            builder.Services.AddOptions<ArchiveOptions>().BindConfiguration(ArchiveOptions.Section);
        }

        return builder;
    }
}
