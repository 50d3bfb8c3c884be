namespace EventImaging.Core.Archiving;

/// <summary>Configuration section <c>Archive</c>: copying result images to EventImaging's own store before <c>ImageCompleted</c>.</summary>
public sealed class ArchiveOptions
{
    public const string Section = "Archive";

    /// <summary><c>none</c> (archiving off: events carry the provider's URLs), <c>s3</c>, or <c>filesystem</c>.</summary>
    public string Store { get; set; } = ArchiveStores.None;

    /// <summary>
    /// When true, a request whose images could not be copied ends with <c>ImageFailed</c> <c>archive_failed</c>; when false
    /// (the default) it still completes, with the provider's URLs, <c>archived: false</c> and the reason.
    /// </summary>
    public bool Required { get; set; }

    /// <summary>Copy attempts before a request is completed without its copy (or failed, when <see cref="Required"/>).</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait after the first failed attempt; it doubles after each one, up to <see cref="RetryMaxInterval"/>.</summary>
    public TimeSpan RetryInitialInterval { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Copies one process runs at once; the scheduler's batch waits for a slot. Bounds the memory and connections copying
    /// takes, whatever the batch size.
    /// </summary>
    public int MaxConcurrentCopies { get; set; } = 8;

    /// <summary>The largest image copied (evolink documents 50 MB inputs); a larger one is not an image we keep.</summary>
    public long MaxBytes { get; set; } = 50L * 1024 * 1024;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait for the next bytes of a download.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Development only (the provider simulator on loopback): allow http and private, loopback and link-local addresses.
    /// Off, a download is https to a public address, checked at connect time.
    /// </summary>
    public bool AllowInsecureDownloads { get; set; }

    /// <summary>Where a download is spooled before it is stored (it is never held in memory whole); default the system's temp directory.</summary>
    public string? SpoolPath { get; set; }

    public S3StoreOptions S3 { get; set; } = new();

    public FileSystemStoreOptions FileSystem { get; set; } = new();

    public bool IsOn => ArchiveStores.Normalize(Store) != ArchiveStores.None;
}

public static class ArchiveStores
{
    public const string None = "none";
    public const string S3 = "s3";
    public const string FileSystem = "filesystem";

    /// <summary>The one reading of <c>Archive:Store</c>: trimmed, lower-case, unset meaning <see cref="None"/>.</summary>
    public static string Normalize(string? store) => string.IsNullOrWhiteSpace(store) ? None : store.Trim().ToLowerInvariant();
}

/// <summary><c>Archive:S3</c>: any S3-compatible store (AWS S3, MinIO, Ceph, R2, …).</summary>
public sealed class S3StoreOptions
{
    /// <summary>The endpoint (<c>https://s3.eu-west-1.amazonaws.com</c>, <c>http://minio:9000</c>); unset with a <see cref="Region"/> means AWS itself.</summary>
    public string? ServiceUrl { get; set; }

    public string Region { get; set; } = "us-east-1";

    public string? Bucket { get; set; }

    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Path-style addressing (<c>{endpoint}/{bucket}/{key}</c>), which most S3-compatible servers need.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>When set, objects are public and their URL is this base plus the key; otherwise a presigned GET URL is given.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>The lifetime of presigned URLs (at most 7 days, SigV4's limit).</summary>
    public TimeSpan PresignedUrlLifetime { get; set; } = TimeSpan.FromDays(7);
}

/// <summary><c>Archive:FileSystem</c>: a directory (the embedded Host's, or a mounted volume) served at <see cref="PublicBaseUrl"/>.</summary>
public sealed class FileSystemStoreOptions
{
    public string? Root { get; set; }

    /// <summary>The URL the directory is served at; the Host serves its own at <c>/files</c>.</summary>
    public string? PublicBaseUrl { get; set; }
}
