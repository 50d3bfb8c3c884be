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
        context.Footprint(Service, "idle", ProcessMemory.RssMB(receiver.ProcessId), receiver.ProcessId);

        var closed = new List<RateLevel>();
        var open = new List<LatencyPoint>();
        await using (var underLoad = new RssSampler(receiver.ProcessId))
        {
            var warmUp = await WarmUp.UntilSteadyAsync(
                last => ClosedAsync(receiver, 64, options.Duration(5), (int)Math.Max(4_000, (last?.RatePerSecond ?? 0) * 2 * options.Duration(5).TotalSeconds)),
                options.Duration(30),
                options.Duration(60),
                level => context.Log($"warm-up: {level.RatePerSecond:F0} callbacks/s; CPU µs per callback: {level.CpuPerOperation}"));
            context.Report.Notes.Add($"The WebhookReceiver was warmed up with {warmUp.Count} closed-loop runs of 64 callbacks in flight until its CPU per callback settled: "
                + string.Join(" → ", warmUp.Select(l => $"{l.CpuPerOperation?.Service:F0} µs")) + ".");
            var rate = warmUp[^1].RatePerSecond;

            foreach (var concurrency in BaselineSection.Levels(options))
            {
                var duration = options.Duration(5);
                var capacity = (int)Math.Max(3_000, rate * 3 * duration.TotalSeconds);
                var level = await ClosedAsync(receiver, concurrency, duration, capacity);
                closed.Add(level);
                context.Log($"closed loop, {concurrency} in flight: {level.RatePerSecond:F0} callbacks/s ({level.Failed} failed); CPU µs per callback: {level.CpuPerOperation}");
            }

            var max = closed.Max(l => l.RatePerSecond);
            foreach (var fraction in options.Quick ? new[] { 0.5, 0.9 } : [0.25, 0.5, 0.75, 0.9])
            {
                await using var atThisRate = new RssSampler(receiver.ProcessId);
                var point = await OpenAsync(receiver.BaseUrl, fraction, fraction * max, options.Duration(8));
                if (Math.Abs(fraction - 0.5) < 0.01)
                {
                    context.Footprint(Service, $"under callback load: {point.OfferedRate:F0}/s, 50 % of max (max)", atThisRate.Max, receiver.ProcessId);
                }

                open.Add(point);
                var l = point.Latency;
                context.Log($"open loop at {fraction:P0} of max ({point.OfferedRate:F0}/s): p50 {l.P50:F1} ms, p95 {l.P95:F1} ms, p99 {l.P99:F1} ms, max {l.Max:F1} ms ({point.Failed} failed, {l.Missing} missing)");
                var s = point.Stages!;
                context.Log($"  p50 / p99 ms of its parts: sender's lag {s.Lag.P50:F1} / {s.Lag.P99:F1}, receiver's answer {s.Answer.P50:F1} / {s.Answer.P99:F1}, event to subscriber {s.Delivery.P50:F1} / {s.Delivery.P99:F1}");
            }

            context.Footprint(Service, "peak over the whole section (saturation included)", underLoad.Max);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        context.Footprint(Service, "idle after load", ProcessMemory.RssMB(receiver.ProcessId), receiver.ProcessId);
        context.Report.Callbacks = new CallbackResults(
            context.Bodies.EvolinkCallbackFor("task-unified-1800000000-00000000").Length,
            closed,
            closed.Max(l => l.RatePerSecond),
            open,
            context.Http.Errors,
            duplicates);
    }

    private async Task<RateLevel> ClosedAsync(ServiceProcess receiver, int concurrency, TimeSpan duration, int capacity)
    {
        var (rows, tracker) = await PrepareAsync(capacity);
        var cpu = new CpuMeter(receiver.ProcessId);
        var window = await LoadRunner.ClosedLoopAsync(concurrency, duration, rows.Count, i => PostAsync(receiver.BaseUrl, rows, tracker, i, Stopwatch.GetTimestamp()));
        await tracker.DrainAsync(window.Sent, DrainTimeout);
        duplicates += tracker.Duplicates;
        return BaselineSection.Level(concurrency, tracker, window, duration, cpu);
    }

    private async Task<LatencyPoint> OpenAsync(Uri receiver, double fraction, double rate, TimeSpan duration)
    {
        var (rows, tracker) = await PrepareAsync((int)(rate * duration.TotalSeconds) + 1);
        var window = await LoadRunner.OpenLoopAsync(rate, duration, rows.Count, (i, due) => PostAsync(receiver, rows, tracker, i, due));
        await tracker.DrainAsync(window.Sent, DrainTimeout);
        duplicates += tracker.Duplicates;
        // The first second (or 15 %) settles connection counts; latency is taken over the rest.
        var settled = window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(Math.Min(1, duration.TotalSeconds * 0.15)));
        var perSecond = Enumerable.Range(0, (int)Math.Ceiling(duration.TotalSeconds))
            .Select(k => tracker.CompletedBetween(window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(k)), window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(k + 1))))
            .ToArray();
        return new LatencyPoint(fraction, rate, window.Sent, tracker.Failed, tracker.Latency(settled, window.End), perSecond, tracker.Stages(settled, window.End));
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
        tracker.Sent(i, Stopwatch.GetTimestamp());
        if (await context.Http.PostAsync(url, context.Bodies.EvolinkCallbackFor(rows.TaskIds[i])))
        {
            tracker.Answered(i, Stopwatch.GetTimestamp());
        }
        else
        {
            tracker.Fail();
        }
    }
}
