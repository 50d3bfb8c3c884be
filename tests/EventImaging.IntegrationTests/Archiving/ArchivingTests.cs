using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.IntegrationTests.Pipeline;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.IntegrationTests.Archiving;

/// <summary>
/// Durable results on real RabbitMQ, PostgreSQL and an S3 server: every image is copied to EventImaging's store before
/// <c>ImageCompleted</c>, whether the outcome came by callback or by poll, and the copy outlives the provider's link;
/// a file that cannot be copied still completes the request (or fails it, when archiving is required); a replica
/// killed mid-copy leaves nothing half-published.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class ArchivingTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, S3Fixture s3, ITestOutputHelper output)
{
    private const int FileBytes = 1_500_000;

    [Fact]
    public async Task A_request_completed_by_callback_is_archived_and_its_copy_outlives_the_providers_link()
    {
        var bucket = await s3.CreateBucketAsync();
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, ArchiveSettings(bucket), output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Kept for good [sim:file-bytes={FileBytes};url-lifetime=10000] {requestId:N}", size = "1536x1024" });

        var completed = await CompletedAsync(env, requestId);

        Assert.Equal(CompletionPaths.Callback, completed.GetProperty("completedVia").GetString());
        var image = Assert.Single(completed.GetProperty("images").EnumerateArray().ToList());
        Assert.Equal("image/png", image.GetProperty("contentType").GetString());
        Assert.Equal(1536, image.GetProperty("width").GetInt32());
        Assert.Equal(1024, image.GetProperty("height").GetInt32());
        Assert.InRange(image.GetProperty("bytes").GetInt64(), FileBytes, FileBytes + 4096);
        Assert.Equal(image.GetProperty("url").GetString(), Assert.Single(completed.GetProperty("imageUrls").EnumerateArray().ToList()).GetString());
        var stored = await env.Http.GetByteArrayAsync(new Uri(image.GetProperty("url").GetString()!));
        Assert.Equal(image.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(stored)));
        var (objectBytes, contentType) = await s3.GetObjectAsync(bucket, $"{requestId:N}/0.png");
        Assert.Equal(stored, objectBytes);
        Assert.Equal("image/png", contentType);

        // The provider deletes its file; the copy stays.
        var providerUrl = new Uri(image.GetProperty("providerUrl").GetString()!);
        await Eventually.UntilAsync(
            async () => (await env.Http.GetAsync(providerUrl)).StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(30),
            "the provider's link to expire");
        Assert.Equal(stored, await env.Http.GetByteArrayAsync(new Uri(image.GetProperty("url").GetString()!)));

        var row = (await env.RowAsync(requestId))!;
        Assert.Equal(RequestState.Completed, row.State);
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(requestId)).Any(h => h.Kind == HistoryKinds.Completed),
            TimeSpan.FromSeconds(10),
            "the transition to be in the history");
        var steps = (await env.HistoryAsync(requestId)).Select(h => h.Kind).Where(k => k is HistoryKinds.Archive or HistoryKinds.Completed or HistoryKinds.Published).ToList();
        Assert.Equal([HistoryKinds.Archive, HistoryKinds.Archive, HistoryKinds.Completed], steps);
    }

    [Fact]
    public async Task A_request_completed_by_poll_is_archived_too()
    {
        var bucket = await s3.CreateBucketAsync();
        var settings = ArchiveSettings(bucket);
        settings["Callbacks:PublicBaseUrl"] = "";
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, settings, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Polled and kept {requestId:N}" });

        var completed = await CompletedAsync(env, requestId);

        Assert.Equal(CompletionPaths.Poll, completed.GetProperty("completedVia").GetString());
        Assert.True(completed.GetProperty("archived").GetBoolean());
        var url = completed.GetProperty("images")[0].GetProperty("url").GetString()!;
        Assert.Equal(completed.GetProperty("images")[0].GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(await env.Http.GetByteArrayAsync(new Uri(url)))));
    }

    [Fact]
    public async Task A_file_that_is_not_an_image_completes_with_the_providers_url_and_the_reason_and_an_expired_one_likewise()
    {
        var bucket = await s3.CreateBucketAsync();
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, ArchiveSettings(bucket), output: output);
        var broken = Guid.NewGuid();
        var expired = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = broken, prompt = $"Broken file [sim:file=broken] {broken:N}" });
        // The link dies as the task finishes: the copy finds it gone.
        await env.PublishJsonAsync(new { requestId = expired, prompt = $"Gone at once [sim:url-lifetime=1] {expired:N}" });

        var notAnImage = await CompletedAsync(env, broken, archived: false);
        var gone = await CompletedAsync(env, expired, archived: false);

        Assert.Contains("not a PNG, JPEG or WebP image", notAnImage.GetProperty("archiveError").GetString(), StringComparison.Ordinal);
        Assert.StartsWith(env.SimulatorUrl.AbsoluteUri, notAnImage.GetProperty("imageUrls")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, notAnImage.GetProperty("images").ValueKind);
        Assert.Contains("HTTP 404", gone.GetProperty("archiveError").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await env.RowAsync(broken))!.ArchiveAttempts);
    }

    [Fact]
    public async Task With_archiving_required_a_file_that_cannot_be_copied_fails_the_request_with_archive_failed()
    {
        var bucket = await s3.CreateBucketAsync();
        var settings = ArchiveSettings(bucket);
        settings["Archive:Required"] = "true";
        settings["Archive:MaxBytes"] = "1000000";
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, settings, output: output);
        var oversized = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = oversized, prompt = $"Too large [sim:file-bytes=2000000] {oversized:N}" });

        var terminal = await env.Events.TerminalAsync(oversized, TimeSpan.FromSeconds(30));

        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(FailureCodes.ArchiveFailed, terminal.Text("code"));
        Assert.Contains("Archive:MaxBytes", terminal.Text("message"), StringComparison.Ordinal);
        Assert.True(terminal.Message.GetProperty("retryable").GetBoolean());
        env.Events.SingleTerminalFor(oversized);
    }

    [Fact]
    public async Task A_store_that_keeps_refusing_is_tried_archive_max_attempts_times_then_the_request_completes_with_the_providers_url()
    {
        // A bucket that does not exist: every store attempt fails, as with a store that is down.
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, ArchiveSettings($"missing-{Guid.NewGuid():N}"), output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Nowhere to keep it {requestId:N}" });

        var completed = await CompletedAsync(env, requestId, archived: false);

        Assert.EndsWith("(after 2 attempts)", completed.GetProperty("archiveError").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, (await env.RowAsync(requestId))!.ArchiveAttempts);
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(requestId)).Count(h => h.Kind == HistoryKinds.Archive && h.Detail.Contains("failed (may pass)", StringComparison.Ordinal)) == 2,
            TimeSpan.FromSeconds(10),
            "both failed attempts to be in the history");
    }

    [Fact]
    public async Task A_submitter_killed_mid_copy_leaves_nothing_published_and_another_finishes_the_copy_once()
    {
        var bucket = await s3.CreateBucketAsync();
        var spool = Directory.CreateTempSubdirectory("eventimaging-spool-");
        try
        {
            var settings = ArchiveSettings(bucket);
            settings["Archive:SpoolPath"] = spool.FullName;
            settings["Polling:Lease"] = "00:00:10";
            await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, settings, inProcessSubmitter: false, output: output);
            var submitterSettings = new Dictionary<string, string?>(env.Settings)
            {
                ["Callbacks:PublicBaseUrl"] = env.ReceiverUrl.AbsoluteUri,
                ["Logging:LogLevel:Default"] = "Warning",
            };
            var requestId = Guid.NewGuid();

            await using (var first = await ServiceProcess.StartAsync("EventImaging.Submitter", submitterSettings, output))
            {
                // 3 MB sent 64 KiB every 100 ms: about 5 s of copying to land in.
                await env.PublishJsonAsync(new { requestId, prompt = $"Killed mid-copy [sim:file-bytes=3000000;file-slow=100] {requestId:N}" });
                await Eventually.UntilAsync(
                    () => Task.FromResult(spool.EnumerateFiles("*.part").Any(f => f.Length > 0)),
                    TimeSpan.FromSeconds(30),
                    "the copy to be under way");
                await first.KillAsync();
            }

            Assert.Equal(RequestState.Archiving, (await env.RowAsync(requestId))!.State);
            Assert.Empty(env.Events.TerminalFor(requestId));

            await using var second = await ServiceProcess.StartAsync("EventImaging.Submitter", submitterSettings, output);
            var completed = await CompletedAsync(env, requestId, timeout: TimeSpan.FromSeconds(60));
            var image = completed.GetProperty("images")[0];
            var (bytes, _) = await s3.GetObjectAsync(bucket, $"{requestId:N}/0.png");
            Assert.Equal(image.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
            await Eventually.NeverAsync(() => env.Events.TerminalFor(requestId).Count > 1, TimeSpan.FromSeconds(2), "a second terminal event");
        }
        finally
        {
            spool.Delete(recursive: true);
        }
    }

    private Dictionary<string, string?> ArchiveSettings(string bucket) => new()
    {
        ["Archive:Store"] = "s3",
        ["Archive:S3:ServiceUrl"] = s3.ServiceUrl,
        ["Archive:S3:Bucket"] = bucket,
        ["Archive:S3:AccessKey"] = S3Fixture.AccessKey,
        ["Archive:S3:SecretKey"] = S3Fixture.SecretKey,
        ["Archive:S3:PresignedUrlLifetime"] = "01:00:00",
        ["Archive:AllowInsecureDownloads"] = "true",
        ["Archive:RetryInitialInterval"] = "00:00:00.200",
        ["Archive:RetryMaxInterval"] = "00:00:00.500",
        ["Archive:MaxAttempts"] = "2",
    };

    /// <summary>Waits for the request's ImageCompleted, checks it is its only terminal event and says whether it was archived.</summary>
    private static async Task<JsonElement> CompletedAsync(PipelineEnvironment env, Guid requestId, bool archived = true, TimeSpan? timeout = null)
    {
        var terminal = await env.Events.TerminalAsync(requestId, timeout ?? TimeSpan.FromSeconds(30));
        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(requestId, terminal.MessageId);
        Assert.Equal(archived, terminal.Message.GetProperty("archived").GetBoolean());
        return terminal.Message;
    }
}
