using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Archiving;

/// <summary>
/// The image store on any S3-compatible server (<c>Archive:S3</c>). Uploads are one plain PutObject of the spool file:
/// the SDK's flexible checksums and aws-chunked bodies are turned off, because several S3-compatible servers store an
/// aws-chunked body as it is, chunk signatures included, or refuse it.
/// </summary>
public sealed partial class S3ImageStore(S3StoreOptions options, ILogger<S3ImageStore> logger) : IImageStore, IDisposable
{
    private const int CopyBufferSize = 81920;

    private readonly AmazonS3Client client = CreateClient(options);
    private readonly string bucket = string.IsNullOrWhiteSpace(options.Bucket)
        ? throw new ArgumentException("Archive:S3:Bucket is not set.", nameof(options))
        : options.Bucket;

    /// <summary>Where the store is, for messages: the endpoint or AWS's region, never a credential.</summary>
    private string Where => string.IsNullOrWhiteSpace(options.ServiceUrl) ? $"AWS S3 ({options.Region})" : options.ServiceUrl;

    public async Task PutAsync(string key, string filePath, string contentType, CancellationToken cancellationToken)
    {
        StoreKeys.Segments(key);
        ArgumentException.ThrowIfNullOrEmpty(contentType);

        await using var file = new FileStream(
            filePath, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var request = new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            InputStream = file,
            AutoCloseStream = false,
            ContentType = contentType,
            // A plain body with its SHA-256 in the signature: every S3-compatible server takes it.
            UseChunkEncoding = false,
        };
        try
        {
            await client.PutObjectAsync(request, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket" || e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ImageStoreException(
                $"S3 bucket '{bucket}' (Archive:S3:Bucket) does not exist at {Where}; image '{key}' was not stored.", e);
        }
        catch (AmazonServiceException e)
        {
            throw new ImageStoreException(
                $"S3 PutObject of image '{key}' to bucket '{bucket}' at {Where} failed: {e.ErrorCode ?? "no error code"} (HTTP {(int)e.StatusCode}) {e.Message}", e);
        }
        catch (AmazonClientException e)
        {
            throw new ImageStoreException($"S3 PutObject of image '{key}' to bucket '{bucket}' at {Where} failed: {e.Message}", e);
        }
        catch (HttpRequestException e)
        {
            throw new ImageStoreException($"S3 at {Where} could not be reached to store image '{key}' in bucket '{bucket}': {e.Message}", e);
        }

        LogStored(logger, key, file.Length, contentType, bucket);
    }

    public StoredUrl UrlFor(string key, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(options.PublicBaseUrl))
        {
            return new StoredUrl(StoreKeys.UrlUnder(options.PublicBaseUrl, key), null);
        }

        StoreKeys.Segments(key);
        // SigV4 allows at most 7 days, counted from the SDK's own (skew-corrected) clock, which can run a moment ahead
        // of ours; the SDK silently falls back to an older signature past it. A few minutes' margin keeps it on SigV4.
        var lifetime = options.PresignedUrlLifetime < LongestSignedLifetime ? options.PresignedUrlLifetime : LongestSignedLifetime;
        var expiresAt = now + lifetime;
        var url = client.GetPreSignedURL(new GetPreSignedUrlRequest
        {
            BucketName = bucket,
            Key = key,
            Verb = HttpVerb.GET,
            Expires = expiresAt.UtcDateTime,
            Protocol = client.Config.UseHttp ? Protocol.HTTP : Protocol.HTTPS,
        });
        return new StoredUrl(new Uri(url, UriKind.Absolute), expiresAt);
    }

    private static readonly TimeSpan LongestSignedLifetime = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(5);

    public void Dispose() => client.Dispose();

    /// <summary>The client for <paramref name="options"/>: the endpoint, path-style addressing, and the credentials given or the SDK's default chain.</summary>
    internal static AmazonS3Client CreateClient(S3StoreOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        else
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
            config.UseHttp = options.ServiceUrl.StartsWith("http:", StringComparison.OrdinalIgnoreCase);
        }

        return string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stored image {Key} ({Bytes} bytes, {ContentType}) in S3 bucket {Bucket}")]
    private static partial void LogStored(ILogger logger, string key, long bytes, string contentType, string bucket);
}
