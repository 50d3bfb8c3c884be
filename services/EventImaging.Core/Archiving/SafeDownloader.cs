using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using EventImaging.Core.Requests;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Archiving;

/// <summary>Why a copy failed, and whether trying again later could help.</summary>
public sealed class ArchiveException(string reason, bool permanent, Exception? inner = null) : Exception(reason, inner)
{
    /// <summary>True when the same copy would fail again (the file is gone, too large, not an image).</summary>
    public bool Permanent { get; } = permanent;
}

/// <summary>A downloaded file, spooled to disk: its length and SHA-256.</summary>
public sealed record Download(string Path, long Bytes, string Sha256);

/// <summary>
/// Downloads a provider's result file to a spool file, never holding it in memory whole: https to a public address only
/// (<see cref="PublicUrlRules"/>, checked again for every address the name resolves to at connect time, so neither DNS
/// tricks nor redirects reach an internal host), at most <c>Archive:MaxBytes</c>, with connect and read timeouts.
/// <c>Archive:AllowInsecureDownloads</c> lifts the address and scheme rules, for the simulator on loopback.
/// </summary>
public sealed class SafeDownloader(IHttpClientFactory clients, IOptions<ArchiveOptions> options)
{
    public const string ClientName = "archive";

    private const int BufferBytes = 81920;

    /// <summary>The primary handler of the archive's HTTP client: the connect-time address check and the connect timeout.</summary>
    public static SocketsHttpHandler CreateHandler(ArchiveOptions options) => new()
    {
        ConnectTimeout = options.ConnectTimeout,
        // No proxy: the connect-time check must see the image's host itself, not a proxy that would fetch any host for us.
        UseProxy = false,
        AllowAutoRedirect = true,
        MaxAutomaticRedirections = 3,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = options.AllowInsecureDownloads ? null : ConnectToPublicAddressAsync,
    };

    public async Task<Download> DownloadAsync(string url, string spoolPath, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (PublicUrlRules.Check(url, settings.AllowInsecureDownloads) is { } refused)
        {
            throw new ArchiveException($"the result URL {refused}", permanent: true);
        }

        using var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        readTimeout.CancelAfter(settings.ConnectTimeout + settings.ReadTimeout);
        try
        {
            using var response = await clients.CreateClient(ClientName).GetAsync(new Uri(url), HttpCompletionOption.ResponseHeadersRead, readTimeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                // Gone for good: the provider deleted it (or never had it). Anything else may pass.
                throw new ArchiveException($"the provider's file answered HTTP {status}", permanent: status is 403 or 404 or 410);
            }

            if (response.Content.Headers.ContentLength > settings.MaxBytes)
            {
                throw new ArchiveException($"the file is {response.Content.Headers.ContentLength} bytes, over Archive:MaxBytes ({settings.MaxBytes})", permanent: true);
            }

            await using var body = await response.Content.ReadAsStreamAsync(readTimeout.Token);
            await using var spool = new FileStream(spoolPath, FileMode.Create, FileAccess.Write, FileShare.None, BufferBytes, FileOptions.Asynchronous);
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[BufferBytes];
            long total = 0;
            int read;
            while (true)
            {
                // The read timeout is the longest wait for the next bytes, not for the whole file.
                readTimeout.CancelAfter(settings.ReadTimeout);
                read = await body.ReadAsync(buffer, readTimeout.Token);
                if (read == 0)
                {
                    break;
                }

                total += read;
                if (total > settings.MaxBytes)
                {
                    throw new ArchiveException($"the file is over Archive:MaxBytes ({settings.MaxBytes} bytes)", permanent: true);
                }

                sha256.AppendData(buffer, 0, read);
                await spool.WriteAsync(buffer.AsMemory(0, read), readTimeout.Token);
            }

            return new Download(spoolPath, total, Convert.ToHexStringLower(sha256.GetHashAndReset()));
        }
        catch (OperationCanceledException ex) when (readTimeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ArchiveException("the download timed out", permanent: false, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ArchiveException($"the download failed: {ex.Message}", permanent: ex.InnerException is RefusedAddressException, ex);
        }
        catch (IOException ex)
        {
            throw new ArchiveException($"the download broke off: {ex.Message}", permanent: false, ex);
        }
    }

    /// <summary>Connects only to a public address of the host; the check runs on the address actually connected to.</summary>
    private static async ValueTask<Stream> ConnectToPublicAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
        var allowed = addresses.Where(PublicUrlRules.IsPublic).ToArray();
        if (allowed.Length == 0)
        {
            throw new RefusedAddressException($"{context.DnsEndPoint.Host} resolves to no public address");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class RefusedAddressException(string message) : Exception(message);
}
