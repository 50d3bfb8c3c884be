using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Archiving;

/// <summary>
/// The image store in a directory (<c>Archive:FileSystem:Root</c>), served at <c>Archive:FileSystem:PublicBaseUrl</c>
/// (the Host serves its own with <see cref="ImageStoreExtensions.MapArchivedFiles"/>). An object appears whole or not at
/// all: it is written to a temporary name beside its final one, flushed to disk, then renamed over it.
/// </summary>
public sealed partial class FileSystemImageStore(FileSystemStoreOptions options, ILogger<FileSystemImageStore> logger) : IImageStore
{
    private const int CopyBufferSize = 81920;

    private readonly string publicBaseUrl = string.IsNullOrWhiteSpace(options.PublicBaseUrl)
        ? throw new ArgumentException("Archive:FileSystem:PublicBaseUrl is not set.", nameof(options))
        : options.PublicBaseUrl;

    /// <summary>The store's directory, as a full path.</summary>
    public string Root { get; } = Path.GetFullPath(string.IsNullOrWhiteSpace(options.Root)
        ? throw new ArgumentException("Archive:FileSystem:Root is not set.", nameof(options))
        : options.Root);

    public async Task PutAsync(string key, string filePath, string contentType, CancellationToken cancellationToken)
    {
        var target = PathFor(key);
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        // A dot name in the same directory: no key can name it, and the rename cannot cross file systems.
        var temporary = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        long bytes;
        try
        {
            await using (var source = new FileStream(
                filePath, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var copy = new FileStream(
                temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBufferSize, FileOptions.Asynchronous))
            {
                await source.CopyToAsync(copy, cancellationToken);
                bytes = copy.Length;
                // On disk before the rename publishes it: a crash leaves the old object or the new one, never a torn one.
                copy.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        LogStored(logger, key, bytes, contentType, Root);
    }

    public StoredUrl UrlFor(string key, DateTimeOffset now) => new(StoreKeys.UrlUnder(publicBaseUrl, key), null);

    /// <summary>The file of <paramref name="key"/> under <see cref="Root"/>; false for a key that is not a valid store key.</summary>
    public bool TryResolve(string? key, out string path)
    {
        path = string.Empty;
        if (!StoreKeys.IsValid(key))
        {
            return false;
        }

        var full = Path.GetFullPath(Path.Combine(Root, Path.Combine(key!.Split('/'))));
        // The key rules already keep it inside; this is the check that does not depend on them.
        if (!full.StartsWith(Path.TrimEndingDirectorySeparator(Root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return false;
        }

        path = full;
        return true;
    }

    /// <summary>The content type a stored file is served with, from its extension; anything but the image types is a download.</summary>
    public static string ContentTypeFor(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        _ => "application/octet-stream",
    };

    private string PathFor(string key)
    {
        StoreKeys.Segments(key);
        return TryResolve(key, out var path)
            ? path
            : throw new ArgumentException($"Image store key '{key}' resolves outside Archive:FileSystem:Root.", nameof(key));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stored image {Key} ({Bytes} bytes, {ContentType}) under {Root}")]
    private static partial void LogStored(ILogger logger, string key, long bytes, string contentType, string root);
}
