using EventImaging.Contracts;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Archiving;

/// <summary>What one copy of a request's images gave: the stored images, and when the earliest of their URLs expires.</summary>
public sealed record CopiedImages(IReadOnlyList<StoredImage> Images, DateTimeOffset? ExpiresAt);

/// <summary>
/// Copies a request's result images into the store: each is downloaded to a spool file (<see cref="SafeDownloader"/>),
/// recognised by its bytes (<see cref="ImageSniffer"/>) and stored under a key derived from the request and its position,
/// so a copy tried again overwrites the same objects and a reader never sees two versions.
/// </summary>
public sealed partial class ImageCopier(SafeDownloader downloader, IImageStore store, IOptions<ArchiveOptions> options, TimeProvider clock)
{
    /// <summary>The object key of the <paramref name="index"/>-th image of a request.</summary>
    public static string KeyOf(Guid requestId, int index, string extension) => $"{requestId:N}/{index}.{extension}";

    /// <summary>Whether <paramref name="key"/> has the shape of <see cref="KeyOf"/>: the only objects the archive writes.</summary>
    public static bool IsImageKey(string? key) => key is not null && ImageKey().IsMatch(key);

    [System.Text.RegularExpressions.GeneratedRegex("^[0-9a-f]{32}/[0-9]{1,4}\\.(png|jpg|webp)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ImageKey();

    public async Task<CopiedImages> CopyAsync(Guid requestId, IReadOnlyList<string> providerUrls, DateTimeOffset? providerUrlsExpireAt, CancellationToken cancellationToken)
    {
        var spoolDirectory = options.Value.SpoolPath ?? Path.GetTempPath();
        Directory.CreateDirectory(spoolDirectory);
        var images = new List<StoredImage>(providerUrls.Count);
        DateTimeOffset? expiresAt = null;
        for (var index = 0; index < providerUrls.Count; index++)
        {
            var spool = Path.Combine(spoolDirectory, $"eventimaging-{requestId:N}-{index}-{Guid.NewGuid():N}.part");
            try
            {
                var download = await downloader.DownloadAsync(providerUrls[index], spool, cancellationToken);
                ImageFormat format;
                await using (var file = File.OpenRead(spool))
                {
                    format = ImageSniffer.Sniff(file)
                        ?? throw new ArchiveException($"image {index + 1} is not a PNG, JPEG or WebP image", permanent: true);
                }

                var key = KeyOf(requestId, index, format.Extension);
                await store.PutAsync(key, spool, format.ContentType, cancellationToken);
                var url = store.UrlFor(key, clock.GetUtcNow());
                expiresAt = url.ExpiresAt is { } at && (expiresAt is null || at < expiresAt) ? at : expiresAt;
                images.Add(new StoredImage
                {
                    Url = url.Url.AbsoluteUri,
                    ContentType = format.ContentType,
                    Bytes = download.Bytes,
                    Sha256 = download.Sha256,
                    Width = format.Width,
                    Height = format.Height,
                    ProviderUrl = providerUrls[index],
                    ProviderUrlExpiresAt = providerUrlsExpireAt,
                });
            }
            finally
            {
                File.Delete(spool);
            }
        }

        return new CopiedImages(images, expiresAt);
    }
}
