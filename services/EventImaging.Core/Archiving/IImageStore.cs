namespace EventImaging.Core.Archiving;

/// <summary>
/// EventImaging's own object store for result images: S3-compatible (<c>S3ImageStore</c>) in deployments, a
/// directory (<c>FileSystemImageStore</c>) for the embedded Host or a mounted volume. Keys derive from the
/// request (<c>{requestId}/{index}.{ext}</c>), so a retried copy overwrites the same object.
/// </summary>
public interface IImageStore
{
    /// <summary>Stores the file at <paramref name="key"/>, replacing any object already there.</summary>
    Task PutAsync(string key, string filePath, string contentType, CancellationToken cancellationToken);

    /// <summary>Where subscribers download the object from, and until when that URL works (null: it does not expire).</summary>
    StoredUrl UrlFor(string key, DateTimeOffset now);
}

/// <summary>A stored object's download URL and its expiry (null when it does not expire).</summary>
public sealed record StoredUrl(Uri Url, DateTimeOffset? ExpiresAt);
