using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Amazon.S3;
using Amazon.S3.Model;
using EventImaging.Core.Archiving;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>
/// The S3-compatible server named by <c>EVENTIMAGING_TEST_S3</c> (tests/scripts/ensure-s3.sh starts s3rver and sets it).
/// Each test gets a fresh bucket (<see cref="CreateBucketAsync"/>), emptied and deleted at the end of the run.
/// </summary>
public sealed class S3Fixture : IAsyncLifetime
{
    /// <summary>Environment variable with the server's base URL, e.g. <c>http://127.0.0.1:4569</c>.</summary>
    public const string Variable = "EVENTIMAGING_TEST_S3";

    /// <summary>The one access key s3rver knows; it does not check SigV4 signatures, so any secret passes.</summary>
    public const string AccessKey = "S3RVER";

    public const string SecretKey = "S3RVER";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, byte> buckets = new();
    private AmazonS3Client? client;
    private string? serviceUrl;

    /// <summary>The server's base URL.</summary>
    public string ServiceUrl => serviceUrl ?? throw Missing();

    private static InvalidOperationException Missing() => new(
        $"{Variable} is not set: source tests/scripts/ensure-s3.sh (test.sh does) to start s3rver, or point it at an S3-compatible server.");

    public async Task InitializeAsync()
    {
        serviceUrl = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(serviceUrl))
        {
            // Shared with every broker-and-database test: only the tests that use it fail, saying what is missing.
            serviceUrl = null;
            return;
        }

        client = S3ImageStore.CreateClient(Options("unused"));
        await Eventually.UntilAsync(
            async () =>
            {
                await client.ListBucketsAsync();
                return true;
            },
            ReadyTimeout,
            $"the S3 server at {serviceUrl} answers ListBuckets");
    }

    /// <summary>Store settings for <paramref name="bucket"/> on this server, with presigned URLs.</summary>
    public S3StoreOptions Options(string bucket, string secretKey = SecretKey) => new()
    {
        ServiceUrl = ServiceUrl,
        Bucket = bucket,
        AccessKey = AccessKey,
        SecretKey = secretKey,
        ForcePathStyle = true,
        PresignedUrlLifetime = TimeSpan.FromMinutes(10),
    };

    /// <summary>Creates an empty bucket with a fresh name.</summary>
    public async Task<string> CreateBucketAsync()
    {
        var name = $"ei-{Guid.NewGuid():N}";
        await Client.PutBucketAsync(new PutBucketRequest { BucketName = name });
        buckets.TryAdd(name, 0);
        return name;
    }

    /// <summary>The server's own view of an object: its bytes and content type.</summary>
    public async Task<(byte[] Bytes, string ContentType)> GetObjectAsync(string bucket, string key)
    {
        using var response = await Client.GetObjectAsync(bucket, key);
        using var bytes = new MemoryStream();
        await response.ResponseStream.CopyToAsync(bytes);
        return (bytes.ToArray(), response.Headers.ContentType);
    }

    [SuppressMessage("Design", "CA1031", Justification = "Best-effort cleanup must not hide the test results.")]
    public async Task DisposeAsync()
    {
        if (client is null)
        {
            return;
        }

        foreach (var bucket in buckets.Keys)
        {
            try
            {
                var listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
                foreach (var item in listed.S3Objects ?? [])
                {
                    await client.DeleteObjectAsync(bucket, item.Key);
                }

                await client.DeleteBucketAsync(bucket);
            }
            catch (Exception)
            {
            }
        }

        client.Dispose();
    }

    private AmazonS3Client Client => client ?? throw Missing();

}

/// <summary>The tests that share the S3 server.</summary>
[CollectionDefinition(Name)]
[SuppressMessage("Naming", "CA1711", Justification = "xUnit collection definitions are named after what they are.")]
public sealed class S3Collection : ICollectionFixture<S3Fixture>
{
    public const string Name = "S3";
}
