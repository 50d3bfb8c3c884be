using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.Contracts;
using EventImaging.IntegrationTests.Infrastructure;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// Callbacks with durable results on: the WebhookReceiver and the Submitter as their own processes, both with
/// <c>Archive:Store=s3</c> on a fresh bucket of the S3-compatible server. Each callback (row waiting in <c>submitted</c>)
/// names a result PNG of the run's simulator padded to 1.5–3 MB; the receiver moves the row to <c>archiving</c> and
/// answers, the Submitter's scheduler claims it on its next cycle, downloads the file, stores it and publishes the
/// <c>ImageCompleted</c> with <c>archived: true</c>. Callbacks at a few modest constant rates (open loop): latency from
/// when each POST was due to the archived event, the callback's own answer, images archived per second, and both
/// processes' memory while copying.
/// </summary>
internal sealed class ArchivingSection(BenchContext context)
{
    /// <summary>The keys of every stored object, taken from the events, to empty the bucket without listing it.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> stored = new();

    private const string Receiver = "EventImaging.WebhookReceiver";
    private const string Archiver = "EventImaging.Submitter";

    /// <summary>What tests/scripts/ensure-s3.sh runs; another S3-compatible server's CPU is not counted.</summary>
    private const string S3ServerCommand = "s3rver.js";

    /// <summary>The range of a realistic result image (the issue's 1.5–3 MB), spread evenly over the callbacks.</summary>
    public const int MinFileBytes = 1_500_000;

    public const int MaxFileBytes = 3_000_000;

    public async Task RunAsync()
    {
        context.Section("archiving (durable results)");
        var polling = new EventImaging.Core.Scheduling.PollingOptions();
        if (context.Servers.S3 is not { } s3)
        {
            var problem = context.Servers.S3Problem ?? $"no S3-compatible server ({S3Fixture.Variable} is not set)";
            context.Log($"archiving section not run: {problem}");
            context.Report.Archiving = new ArchivingResults("s3", MinFileBytes, MaxFileBytes, polling.Interval.TotalMilliseconds, polling.BatchSize, [], 0, 0, 0,
                new Dictionary<int, int>(), $"The archiving section could not run: {problem.TrimEnd('.')}. Set {S3Fixture.Variable} or let tests/scripts/ensure-s3.sh start s3rver (needs Node 20+).");
            return;
        }

        context.Http.ResetErrors();
        using var client = new AmazonS3Client(
            new BasicAWSCredentials(S3Fixture.AccessKey, S3Fixture.SecretKey),
            new AmazonS3Config
            {
                ServiceURL = s3,
                ForcePathStyle = true,
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            });
        var bucket = context.RunName.Replace('_', '-');
        await client.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        try
        {
            await context.Seeder.DeferSubmittedAsync();
            var results = await MeasureAsync(Settings(s3, bucket), polling);
            context.Report.Archiving = context.Options.Quick ? results : results with { Levels = await WithoutArchivingAsync(results.Levels) };
        }
        finally
        {
            context.Bus.CompletedEvent = null;
            await DeleteBucketAsync(client, bucket, stored.Keys);
        }
    }

    private async Task<ArchivingResults> MeasureAsync(Dictionary<string, string?> settings, EventImaging.Core.Scheduling.PollingOptions polling)
    {
        await using var receiver = await ServiceProcess.StartAsync(Receiver, settings, output: null);
        await using var archiver = await ServiceProcess.StartAsync(Archiver, settings, output: null);
        await context.IdleFootprintAsync(Receiver, "idle, archiving on", receiver.ProcessId);
        context.Footprint(Archiver, "idle, archiving on", ProcessMemory.RssMB(archiver.ProcessId), archiver.ProcessId);

        var totals = new Totals();
        // Start-up work of both processes (JIT, connections, the S3 client), out of the figures.
        var warmUp = await LevelAsync(receiver, archiver, 10, TimeSpan.FromSeconds(2), totals);
        context.Log($"warm-up at 10/s: {warmUp.Archived} archived, p50 {warmUp.Latency.P50:F0} ms, max {warmUp.Latency.Max:F0} ms");

        var levels = new List<ArchivingLevel>();
        foreach (var rate in context.Options.Quick ? new[] { 15 } : [10, 20])
        {
            // 12 s: 120 and 240 images, each 1.5–3 MB; the full run keeps under 10 minutes.
            var level = await LevelAsync(receiver, archiver, rate, context.Options.Duration(12), totals);
            levels.Add(level);
            var (l, a, r) = (level.Latency, level.Answer, level.Archive);
            context.Log(Invariant($"{rate}/s for {level.Seconds:F0} s: {level.Archived}/{level.Sent} archived ({level.NotArchived} not archived, {level.Failed} failed), {level.ArchivedPerSecond:F1} images/s = {level.MegabytesPerSecond:F0} MB/s; ")
                + Invariant($"callback → ImageCompleted p50 {l.P50:F0} ms, p95 {l.P95:F0} ms, p99 {l.P99:F0} ms, max {l.Max:F0} ms ({l.Missing} missing); answer p50 {a.P50:F1} ms, p99 {a.P99:F1} ms; 200 → event p50 {r.P50:F0} ms; ")
                + Invariant($"peak RSS Submitter {level.SubmitterPeakRssMB:F0} MB, receiver {level.ReceiverPeakRssMB:F0} MB; CPU µs per image: {level.CpuPerImage}"));
            context.Footprint(Archiver, Invariant($"under archiving load: {rate}/s of {MinFileBytes / 1e6:0.0#}–{MaxFileBytes / 1e6:0.0#} MB files (max)"), level.SubmitterPeakRssMB, archiver.ProcessId);
            context.Footprint(Receiver, Invariant($"under archiving load: {rate}/s callbacks (max)"), level.ReceiverPeakRssMB);
        }

        await context.IdleFootprintAsync(Archiver, "idle after archiving", archiver.ProcessId);
        return new ArchivingResults(
            "s3 (s3rver)",
            MinFileBytes,
            MaxFileBytes,
            ReadTimeSpan(settings, "Polling:Interval", polling.Interval).TotalMilliseconds,
            polling.BatchSize,
            levels,
            totals.Duplicates,
            totals.Lost,
            totals.NotArchived,
            context.Http.Errors);
    }

    /// <summary>
    /// <paramref name="rate"/> callbacks a second for <paramref name="duration"/> on fresh rows, then waits for every
    /// event (a minute, or longer when the copies fall behind: the drain timeout grows with the callbacks sent).
    /// </summary>
    private async Task<ArchivingLevel> LevelAsync(ServiceProcess receiver, ServiceProcess archiver, int rate, TimeSpan duration, Totals totals)
    {
        var count = (int)(rate * duration.TotalSeconds);
        var rows = await context.Seeder.SeedSubmittedAsync(count);
        // Sizes spread evenly over the range (golden-ratio steps), not in the order of sending.
        var sizes = Enumerable.Range(0, count).Select(i => MinFileBytes + (int)((MaxFileBytes - MinFileBytes) * (i * 0.6180339887498949 % 1))).ToArray();
        var bodies = rows.TaskIds.Select((task, i) => context.Bodies.EvolinkCallbackFor(task, sizes[i])).ToArray();
        var tracker = new CompletionTracker(count);
        var (archived, notArchived, bytes, last) = (0, 0, 0L, 0L);
        context.Bus.Completed = null;
        context.Bus.CompletedEvent = (message, at) =>
        {
            if (!rows.Index.TryGetValue(message.RequestId, out var i))
            {
                return;
            }

            foreach (var copy in message.Images ?? [])
            {
                stored.TryAdd(Uri.UnescapeDataString(new Uri(copy.Url).AbsolutePath), 0);
            }

            if (message is { Archived: true, Images: [{ } image] } && image.Bytes == sizes[i])
            {
                Interlocked.Increment(ref archived);
                Interlocked.Add(ref bytes, image.Bytes);
            }
            else if (Interlocked.Increment(ref notArchived) == 1)
            {
                context.Log($"  not archived as expected: request {message.RequestId} archived {message.Archived?.ToString() ?? "null"} ({message.ArchiveError}), "
                    + $"{message.Images?.Length ?? 0} image(s) of {string.Join(", ", message.Images?.Select(m => m.Bytes) ?? [])} bytes, expected {sizes[i]}");
            }

            long seen;
            while ((seen = Volatile.Read(ref last)) < at && Interlocked.CompareExchange(ref last, at, seen) != seen)
            {
            }

            tracker.Completed(i, at);
        };

        await using var archiverRss = new RssSampler(archiver.ProcessId);
        await using var receiverRss = new RssSampler(receiver.ProcessId);
        var cpu = new CpuMeter(archiver.ProcessId);
        var (receiverCpu, s3Cpu) = (CpuMeter.SecondsOf(receiver.ProcessId), CpuMeter.SecondsOf(null, S3ServerCommand));
        var turnedAway = 0;
        var window = await LoadRunner.OpenLoopAsync(rate, duration, count, (i, due) => CallbackSender.SendAsync(
            context.Http,
            new Uri(receiver.BaseUrl, $"/callbacks/{LedgerSeeder.Provider}/{rows.Tokens[i]}"),
            bodies[i],
            tracker,
            i,
            due,
            () => Interlocked.Increment(ref turnedAway)));
        await tracker.DrainAsync(window.Sent, TimeSpan.FromSeconds(Math.Max(60, window.Sent / 5.0)));
        var used = cpu.Elapsed();
        (receiverCpu, s3Cpu) = (CpuMeter.SecondsOf(receiver.ProcessId) - receiverCpu, CpuMeter.SecondsOf(null, S3ServerCommand) - s3Cpu);
        context.Bus.CompletedEvent = null;

        totals.Duplicates += tracker.Duplicates;
        totals.Lost += tracker.AnsweredNotCompleted;
        totals.NotArchived += notArchived;
        var elapsed = CompletionTracker.Seconds(Volatile.Read(ref last) - window.Start);
        var perSecond = Enumerable.Range(0, (int)Math.Ceiling(Math.Max(elapsed, duration.TotalSeconds)))
            .Select(k => tracker.CompletedBetween(window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(k)), window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(k + 1))))
            .ToArray();
        var stages = tracker.Stages(window.Start, window.End);
        return new ArchivingLevel(
            rate,
            duration.TotalSeconds,
            window.Sent,
            tracker.Failed,
            archived,
            notArchived,
            bytes,
            tracker.Latency(window.Start, window.End),
            stages.Answer,
            stages.Delivery,
            archived / elapsed,
            bytes / 1e6 / elapsed,
            archiverRss.Max,
            receiverRss.Max,
            used.PerOperation(archived),
            perSecond,
            archived == 0 ? double.NaN : receiverCpu / archived * 1e6,
            archived == 0 ? double.NaN : s3Cpu / archived * 1e6);
    }

    /// <summary>
    /// The callback path alone at the same rates: a receiver with archiving off (its own process, the archiving ones
    /// stopped), the same callbacks for a third of the time; its answers, for comparison with those above.
    /// </summary>
    private async Task<List<ArchivingLevel>> WithoutArchivingAsync(List<ArchivingLevel> levels)
    {
        await using var receiver = await ServiceProcess.StartAsync(Receiver, context.ServiceSettings(), output: null);
        var compared = new List<ArchivingLevel>();
        foreach (var level in levels)
        {
            var duration = TimeSpan.FromSeconds(level.Seconds / 3);
            var rows = await context.Seeder.SeedSubmittedAsync((int)(level.OfferedRate * duration.TotalSeconds));
            var tracker = new CompletionTracker(rows.Count);
            context.Bus.CompletedEvent = null;
            context.Bus.Completed = tracker.CompletesFor(rows.Index);
            var window = await LoadRunner.OpenLoopAsync(level.OfferedRate, duration, rows.Count, (i, due) => CallbackSender.SendAsync(
                context.Http,
                new Uri(receiver.BaseUrl, $"/callbacks/{LedgerSeeder.Provider}/{rows.Tokens[i]}"),
                context.Bodies.EvolinkCallbackFor(rows.TaskIds[i], MinFileBytes),
                tracker,
                i,
                due,
                () => { }));
            await tracker.DrainAsync(window.Sent, TimeSpan.FromSeconds(20));
            context.Bus.Completed = null;
            var answer = tracker.Stages(window.Start, window.End).Answer;
            context.Log(Invariant($"archiving off, {level.OfferedRate:F0}/s: answer p50 {answer.P50:F1} ms, p99 {answer.P99:F1} ms ({tracker.Failed} failed, {tracker.AnsweredNotCompleted} without their event)"));
            compared.Add(level with { AnswerWithoutArchiving = answer });
        }

        return compared;
    }

    private Dictionary<string, string?> Settings(string s3, string bucket)
    {
        var settings = context.ServiceSettings();
        settings["Archive:Store"] = "s3";
        // The simulator's files are served over http on loopback.
        settings["Archive:AllowInsecureDownloads"] = "true";
        settings["Archive:S3:ServiceUrl"] = s3;
        settings["Archive:S3:Bucket"] = bucket;
        settings["Archive:S3:AccessKey"] = S3Fixture.AccessKey;
        settings["Archive:S3:SecretKey"] = S3Fixture.SecretKey;
        settings["Archive:S3:ForcePathStyle"] = "true";
        return settings;
    }

    private static TimeSpan ReadTimeSpan(Dictionary<string, string?> settings, string key, TimeSpan otherwise) =>
        settings.TryGetValue(key, out var value) && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var parsed) ? parsed : otherwise;

    /// <summary>
    /// Empties and deletes the run's bucket (thousands of multi-megabyte objects otherwise stay on the server's disk): the
    /// objects the events named, then whatever a listing still finds. The objects are deleted by key first because
    /// s3rver answers a listing of a bucket of a few thousand objects with InternalError.
    /// </summary>
    private async Task DeleteBucketAsync(AmazonS3Client client, string bucket, ICollection<string> paths)
    {
        try
        {
            var prefix = $"/{bucket}/";
            var keys = paths.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => p[prefix.Length..]).ToList();
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, cancellationToken) =>
                await client.DeleteObjectAsync(bucket, key, cancellationToken));
            var deleted = keys.Count;
            ListObjectsV2Response listed;
            do
            {
                listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
                foreach (var item in listed.S3Objects ?? [])
                {
                    await client.DeleteObjectAsync(bucket, item.Key);
                    deleted++;
                }
            }
            while (listed.IsTruncated == true);

            await client.DeleteBucketAsync(bucket);
            context.Log($"bucket {bucket} emptied ({deleted} objects) and deleted");
        }
        catch (AmazonServiceException ex)
        {
            context.Log($"bucket {bucket} could not be emptied and deleted: {ex.Message}");
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>What went wrong over every level, warm-up included.</summary>
    private sealed class Totals
    {
        public int Duplicates { get; set; }

        public int Lost { get; set; }

        public int NotArchived { get; set; }
    }
}
