using System.Diagnostics;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// Callback ingestion through the WebhookReceiver, run as its own process: valid callbacks (tokens minted by the real
/// CallbackTokens, rows waiting in <c>submitted</c>, the simulator's evolink body) → ImageCompleted consumed by the
/// benchmark's subscriber. First the maximum rate (closed loop), then latency at fractions of it (open loop).
/// </summary>
internal sealed class CallbackSection(BenchContext context)
{
    private const string Service = "EventImaging.WebhookReceiver";
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(20);

    private int duplicates;

    public async Task RunAsync()
    {
        context.Section("callback ingestion");
        var options = context.Options;
        await using var receiver = await ServiceProcess.StartAsync(Service, context.ServiceSettings());
        await Task.Delay(TimeSpan.FromSeconds(2));
        Footprint("idle", ProcessMemory.RssMB(receiver.ProcessId));

        var closed = new List<RateLevel>();
        var open = new List<LatencyPoint>();
        await using (var underLoad = new RssSampler(receiver.ProcessId))
        {
            // Warm-up (JIT, tiered compilation, connection pools); its rate sizes the seeding of the next runs.
            var warmUp = await ClosedAsync(receiver.BaseUrl, 32, options.Duration(3), 15_000);
            context.Log($"warm-up: {warmUp.RatePerSecond:F0} callbacks/s");

            foreach (var concurrency in BaselineSection.Levels(options))
            {
                var duration = options.Duration(5);
                var capacity = (int)Math.Max(3_000, warmUp.RatePerSecond * 3 * duration.TotalSeconds);
                var level = await ClosedAsync(receiver.BaseUrl, concurrency, duration, capacity);
                closed.Add(level);
                context.Log($"closed loop, {concurrency} in flight: {level.RatePerSecond:F0} callbacks/s ({level.Failed} failed)");
            }

            var max = closed.Max(l => l.RatePerSecond);
            foreach (var fraction in options.Quick ? new[] { 0.5, 0.9 } : [0.25, 0.5, 0.75, 0.9])
            {
                var point = await OpenAsync(receiver.BaseUrl, fraction, fraction * max, options.Duration(8));
                open.Add(point);
                var l = point.Latency;
                context.Log($"open loop at {fraction:P0} of max ({point.OfferedRate:F0}/s): p50 {l.P50:F1} ms, p95 {l.P95:F1} ms, p99 {l.P99:F1} ms, max {l.Max:F1} ms ({point.Failed} failed, {l.Missing} missing)");
            }

            Footprint("under callback load (max)", underLoad.Max);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        Footprint("idle after load", ProcessMemory.RssMB(receiver.ProcessId));
        context.Report.Callbacks = new CallbackResults(
            context.Bodies.EvolinkCallbackFor("task-unified-1800000000-00000000").Length,
            closed,
            closed.Max(l => l.RatePerSecond),
            open,
            context.Http.Errors,
            duplicates);
    }

    private async Task<RateLevel> ClosedAsync(Uri receiver, int concurrency, TimeSpan duration, int capacity)
    {
        var (rows, tracker) = await PrepareAsync(capacity);
        var window = await LoadRunner.ClosedLoopAsync(concurrency, duration, rows.Count, i => PostAsync(receiver, rows, tracker, i, Stopwatch.GetTimestamp()));
        await tracker.DrainAsync(window.Sent, DrainTimeout);
        duplicates += tracker.Duplicates;
        return BaselineSection.Level(concurrency, tracker, window, duration);
    }

    private async Task<LatencyPoint> OpenAsync(Uri receiver, double fraction, double rate, TimeSpan duration)
    {
        var (rows, tracker) = await PrepareAsync((int)(rate * duration.TotalSeconds) + 1);
        var window = await LoadRunner.OpenLoopAsync(rate, duration, rows.Count, (i, due) => PostAsync(receiver, rows, tracker, i, due));
        await tracker.DrainAsync(window.Sent, DrainTimeout);
        duplicates += tracker.Duplicates;
        // The first second (or 15 %) settles connection counts; latency is taken over the rest.
        var settled = window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(Math.Min(1, duration.TotalSeconds * 0.15)));
        return new LatencyPoint(fraction, rate, window.Sent, tracker.Failed, tracker.Latency(settled, window.End));
    }

    private async Task<(CallbackRows Rows, CompletionTracker Tracker)> PrepareAsync(int count)
    {
        var rows = await context.Seeder.SeedSubmittedAsync(count);
        var tracker = new CompletionTracker(rows.Count);
        context.Bus.Completed = (id, at) =>
        {
            if (rows.Index.TryGetValue(id, out var i))
            {
                tracker.Completed(i, at);
            }
        };
        return (rows, tracker);
    }

    private async Task PostAsync(Uri receiver, CallbackRows rows, CompletionTracker tracker, int i, long due)
    {
        tracker.Started(i, due);
        var url = new Uri(receiver, $"/callbacks/{LedgerSeeder.Provider}/{rows.Tokens[i]}");
        if (!await context.Http.PostAsync(url, context.Bodies.EvolinkCallbackFor(rows.TaskIds[i])))
        {
            tracker.Fail();
        }
    }

    private void Footprint(string phase, double? rss)
    {
        context.Report.Footprint.Add(new FootprintResult(Service, phase, rss ?? double.NaN));
        context.Log($"{Service} RSS {phase}: {rss:F0} MB");
    }
}
