using System.Net;
using EventImaging.Core.Archiving;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventImaging.IntegrationTests.Archiving;

/// <summary><see cref="S3ImageStore"/> against the test S3 server (s3rver), one fresh bucket per test.</summary>
[Collection(S3Collection.Name)]
public sealed class ImageStoreTests(S3Fixture s3) : IDisposable
{
    private readonly string spool = Path.Combine(Path.GetTempPath(), $"ei-s3-test-{Guid.NewGuid():N}");
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Put_then_the_presigned_url_downloads_the_same_bytes_with_the_content_type()
    {
        var bucket = await s3.CreateBucketAsync();
        using var store = new S3ImageStore(s3.Options(bucket), NullLogger<S3ImageStore>.Instance);
        // 300×300 of noise: about 270 KB, several upload buffers.
        var file = TestImages.WritePng(spool, 300, seed: 1);
        var key = $"{Guid.NewGuid()}/0.png";

        await store.PutAsync(key, file, "image/png", CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var stored = store.UrlFor(key, now);

        Assert.Equal(now + TimeSpan.FromMinutes(10), stored.ExpiresAt);
        Assert.Equal(Uri.UriSchemeHttp, stored.Url.Scheme);
        Assert.Contains("X-Amz-Signature=", stored.Url.Query, StringComparison.Ordinal);
        using var response = await http.GetAsync(stored.Url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllBytesAsync(file), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_presigned_url_of_the_longest_lifetime_seven_days_is_accepted()
    {
        var bucket = await s3.CreateBucketAsync();
        var options = s3.Options(bucket);
        options.PresignedUrlLifetime = TimeSpan.FromDays(7);
        using var store = new S3ImageStore(options, NullLogger<S3ImageStore>.Instance);
        var file = TestImages.WritePng(spool, 16, seed: 7);
        await store.PutAsync("r/0.png", file, "image/png", CancellationToken.None);

        var stored = store.UrlFor("r/0.png", DateTimeOffset.UtcNow);

        // The server refuses an X-Amz-Expires past 604800 s, as S3 does; the store keeps a few minutes' margin below it.
        var expires = int.Parse(System.Web.HttpUtility.ParseQueryString(stored.Url.Query)["X-Amz-Expires"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires, 604_490, 604_800);
        Assert.True(stored.ExpiresAt <= DateTimeOffset.UtcNow.AddDays(7));
        Assert.Equal(await File.ReadAllBytesAsync(file), await http.GetByteArrayAsync(stored.Url));
    }

    [Fact]
    public async Task A_second_put_at_the_same_key_overwrites_the_first()
    {
        var bucket = await s3.CreateBucketAsync();
        using var store = new S3ImageStore(s3.Options(bucket), NullLogger<S3ImageStore>.Instance);
        var key = $"{Guid.NewGuid()}/0.png";
        var first = TestImages.WritePng(spool, 64, seed: 2);
        var second = TestImages.WritePng(spool, 80, seed: 3);

        await store.PutAsync(key, first, "image/png", CancellationToken.None);
        await store.PutAsync(key, second, "image/webp", CancellationToken.None);

        var (bytes, contentType) = await s3.GetObjectAsync(bucket, key);
        Assert.Equal(await File.ReadAllBytesAsync(second), bytes);
        Assert.Equal("image/webp", contentType);
    }

    [Fact]
    public async Task With_a_public_base_url_the_url_is_the_base_and_the_key_and_does_not_expire()
    {
        var bucket = await s3.CreateBucketAsync();
        var options = s3.Options(bucket);
        // s3rver serves objects to anonymous GETs, as a public-read bucket does.
        options.PublicBaseUrl = $"{s3.ServiceUrl}/{bucket}/";
        using var store = new S3ImageStore(options, NullLogger<S3ImageStore>.Instance);
        var key = $"{Guid.NewGuid()}/1 final.png";
        var file = TestImages.WritePng(spool, 32, seed: 4);

        await store.PutAsync(key, file, "image/png", CancellationToken.None);
        var stored = store.UrlFor(key, DateTimeOffset.UtcNow);

        Assert.Null(stored.ExpiresAt);
        Assert.Equal($"{s3.ServiceUrl}/{bucket}/{key.Replace(" ", "%20", StringComparison.Ordinal)}", stored.Url.AbsoluteUri);
        Assert.Equal(await File.ReadAllBytesAsync(file), await http.GetByteArrayAsync(stored.Url));
    }

    [Fact]
    public async Task A_missing_bucket_fails_with_an_exception_naming_it_and_no_secret()
    {
        var bucket = $"ei-missing-{Guid.NewGuid():N}";
        const string secret = "not-a-real-secret-4f9c2a";
        using var store = new S3ImageStore(s3.Options(bucket, secret), NullLogger<S3ImageStore>.Instance);
        var file = TestImages.WritePng(spool, 16, seed: 5);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => store.PutAsync("r/0.png", file, "image/png", CancellationToken.None));

        Assert.Contains($"S3 bucket '{bucket}' (Archive:S3:Bucket) does not exist", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_that_is_not_a_store_key_is_refused_before_any_request()
    {
        var bucket = await s3.CreateBucketAsync();
        using var store = new S3ImageStore(s3.Options(bucket), NullLogger<S3ImageStore>.Instance);
        var file = TestImages.WritePng(spool, 16, seed: 6);

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("../x.png", file, "image/png", CancellationToken.None));
        Assert.Throws<ArgumentException>(() => store.UrlFor("a//b.png", DateTimeOffset.UtcNow));
    }

    public void Dispose()
    {
        http.Dispose();
        if (Directory.Exists(spool))
        {
            Directory.Delete(spool, recursive: true);
        }
    }
}
