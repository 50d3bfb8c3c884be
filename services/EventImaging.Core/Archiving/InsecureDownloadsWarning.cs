using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Archiving;

/// <summary>
/// Says once, at start, that <c>Archive:AllowInsecureDownloads</c> lifts the download address rules: meant for the
/// simulator on loopback, it lets a provider's result URL reach this network's private hosts.
/// </summary>
internal sealed partial class InsecureDownloadsWarning(ILogger<InsecureDownloadsWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogInsecure();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Archive:AllowInsecureDownloads is on: result images are downloaded over http and from private, loopback and link-local addresses. Development only (the provider simulator); never with real providers")]
    private partial void LogInsecure();
}
