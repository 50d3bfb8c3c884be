using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// Callback ingestion through the WebhookReceiver, run as its own process: valid callbacks (tokens minted by the real
/// CallbackTokens, rows waiting in <c>submitted</c>, the simulator's evolink body) → ImageCompleted consumed by the
/// benchmark's subscriber. First the maximum rate (closed loop), then latency at fractions of it (open loop); then the
/// same load on <see cref="PlainReceiverServer"/>, the receiver's libraries alone, for reference.
/// </summary>
internal sealed class CallbackSection(BenchContext context)
{
    private const string Service = "EventImaging.WebhookReceiver";

    /// <summary>
    /// Callbacks in flight at each closed-loop level. The receiver's group commit gathers more rows a statement, and
    /// its publishes more messages a confirm, the more callbacks it holds: on 2026-12-07 it took 2,279 / 3,604 / 3,755 /
    /// 4,437 callbacks/s at 64 / 192 / 384 / 768 in flight, where every one of its parts had passed its best; in four
    /// later runs 3,729–4,476 at 192, and at 384 / 768: 4,048 / 4,179, 4,722 / 4,831, 5,501 / 5,517, 4,588 / 4,422. So
    /// one level, 384: 192 is below it and 768 no better, and the full run has no 5 s to spare.
    /// </summary>
    private static int[] Levels(BenchOptions options) => options.Quick ? [64] : [384];

    /// <summary>Each open-loop rate: 6 s holds 13,000 callbacks or more at half the maximum, ample for a p99.</summary>
    private static TimeSpan OpenLoop(BenchOptions options) => options.Duration(6);

    /// <summary>
    /// The plain receiver's level: its best of those tried (2,996–3,062/s at 192 in flight, 2,536/s at 768 on
    /// 2026-12-07). It has no group commit to fill, so more callbacks in hand only queue.
    /// </summary>
    private static int PlainLevel(BenchOptions options) => options.Quick ? 64 : 192;

    public async Task RunAsync()
    {
        context.Section("callback ingestion");
        context.Http.ResetErrors();
        var (receiver, closed, open, overload) = await ReceiverAsync();
        var max = closed.Max(l => l.RatePerSecond);
        var errors = context.Http.Errors;
        var plain = await PlainReceiverAsync(max);
        context.Report.Callbacks = new CallbackResults(
            context.Bodies.EvolinkCallbackFor("task-unified-1800000000-00000000").Length,
            closed,
            max,
            open,
            errors,
            receiver.Duplicates,
            receiver.Lost,
            plain,
            receiver.TurnedAway,
            overload,
            receiver.GivenUp);
    }

    /// <summary>
    /// The WebhookReceiver warmed up, its maximum at each closed-loop level, its latency at shares of that maximum, then
    /// a few seconds at twice it.
    /// </summary>
    private async Task<(CallbackLoad Receiver, List<RateLevel> Closed, List<LatencyPoint> Open, OverloadResult Overload)> ReceiverAsync()
    {
        var options = context.Options;
        await using var receiver = await ServiceProcess.StartAsync(Service, context.ServiceSettings(), output: null);
        var target = new CallbackLoad(context, receiver, (rows, i) => $"/callbacks/{LedgerSeeder.Provider}/{rows.Tokens[i]}");
        await context.IdleFootprintAsync(Service, "idle", receiver.ProcessId);

        var closed = new List<RateLevel>();
        var open = new List<LatencyPoint>();
        OverloadResult overload;
        await using (var underLoad = new RssSampler(receiver.ProcessId))
        {
            // 20 s ended a receiver's warm-up at 438 → 182 µs per callback, its JIT still busy; it goes quiet after 25–32 s.
            var warmUpLimit = options.Duration(30);
            var warmUp = await target.WarmUpAsync("warm-up", warmUpLimit);
            context.Report.Notes.Add($"The WebhookReceiver was warmed up with {warmUp.Count} closed-loop runs of 64 callbacks in flight until its CPU per callback settled and its background JIT went quiet, or for at most {warmUpLimit.TotalSeconds:F0} s: "
                + string.Join(" → ", warmUp.Select(l => $"{l.CpuPerOperation?.Service:F0} µs")) + ".");
            var rate = warmUp[^1].RatePerSecond;

            foreach (var concurrency in Levels(options))
            {
                var level = await target.ClosedAsync(concurrency, options.Duration(5), rate);
                closed.Add(level);
                context.Log($"closed loop, {concurrency} in flight: {level.RatePerSecond:F0} callbacks/s ({level.Failed} failed); CPU µs per callback: {level.CpuPerOperation}");
            }

            var max = closed.Max(l => l.RatePerSecond);
            foreach (var fraction in options.Quick ? new[] { 0.5, 0.9 } : [0.5, 0.75, 0.9])
            {
                await using var atThisRate = new RssSampler(receiver.ProcessId);
                var point = await target.OpenAsync(fraction, fraction * max, OpenLoop(options));
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

            overload = await OverloadAsync(target, 2 * max);
            context.Footprint(Service, "peak over the whole section (saturation included)", underLoad.Max);
        }

        await context.IdleFootprintAsync(Service, "idle after load", receiver.ProcessId);
        return (target, closed, open, overload);
    }

    /// <summary>
    /// More callbacks than the receiver can apply, for a few seconds: past <c>Callbacks:MaxInFlight</c> it turns them
    /// away with 503, the load generator sends those again 1, 2 and 4 s later as the providers do, and every callback
    /// answered 200 must still give exactly one event. Its peak RSS shows what the bound does and does not hold down.
    /// </summary>
    private async Task<OverloadResult> OverloadAsync(CallbackLoad target, double rate)
    {
        var (turnedAwayBefore, givenUpBefore) = (target.TurnedAway, target.GivenUp);
        await using var sampler = new RssSampler(target.Process.ProcessId);
        var point = await target.OpenAsync(2, rate, context.Options.Duration(3));
        var result = new OverloadResult(point.OfferedRate, point.Sent, target.TurnedAway - turnedAwayBefore, target.GivenUp - givenUpBefore, point.Failed, point.Latency, sampler.Max);
        context.Footprint(Service, $"over the bound: {point.OfferedRate:F0}/s, twice the max (max)", sampler.Max, target.Process.ProcessId);
        context.Log($"twice the max ({point.OfferedRate:F0}/s): {result.TurnedAway} answers of 503 sent again, {result.GivenUp} given up, {point.Failed} failed; p50 {point.Latency.P50:F1} ms, p99 {point.Latency.P99:F1} ms; peak RSS {sampler.Max:F0} MB");
        return result;
    }

    /// <summary>
    /// The same load on <see cref="PlainReceiverServer"/>, the receiver's libraries without EventImaging's work, run and
    /// warmed up alike: its maximum at the highest level, its latency at half of it, and its latency and memory at the
    /// rate the receiver was held to at half of the receiver's maximum.
    /// </summary>
    private async Task<PlainReceiverResults> PlainReceiverAsync(double receiverMax)
    {
        var name = PlainReceiverServer.Name;
        var options = context.Options;
        // The runtime settings every service has (Server GC, set by the Web SDK; no spinning thread-pool workers, from
        // services/Directory.Build.props) unless EVENTIMAGING_BENCH_SERVICE_ENV says otherwise; not the receiver's own
        // (no dynamic PGO, its heap at 40 %), which are part of what is compared (docs/performance.md).
        var settings = context.ServiceSettings();
        settings.TryAdd("DOTNET_gcServer", "1");
        settings.TryAdd("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "0");
        await using var plain = await ServiceProcess.StartAssemblyAsync(typeof(PlainReceiverServer).Assembly.Location, settings, output: null, PlainReceiverServer.Flag);
        var target = new CallbackLoad(context, plain, (rows, i) => $"{PlainReceiverServer.RoutePrefix}{rows.Ids[i]}");
        await context.IdleFootprintAsync(name, "idle (no request yet)", plain.ProcessId);

        // The reference gets the 20 s it always had: the full run's 10 minutes leave no more.
        var warmUp = await target.WarmUpAsync("plain receiver warm-up", options.Duration(20));
        var concurrency = PlainLevel(options);
        var max = await target.ClosedAsync(concurrency, options.Duration(5), warmUp[^1].RatePerSecond);
        context.Log($"plain receiver, {concurrency} in flight: {max.RatePerSecond:F0}/s; CPU µs per callback: {max.CpuPerOperation}");
        var ownHalf = await target.OpenAsync(0.5, 0.5 * max.RatePerSecond, OpenLoop(options));
        await using var underLoad = new RssSampler(plain.ProcessId);
        var receiversHalf = await target.OpenAsync(0.5 * receiverMax / max.RatePerSecond, 0.5 * receiverMax, OpenLoop(options));
        context.Footprint(name, $"under the receiver's 50 % load: {receiversHalf.OfferedRate:F0}/s (max)", underLoad.Max, plain.ProcessId);
        foreach (var point in new[] { ownHalf, receiversHalf })
        {
            context.Log($"plain receiver at {point.OfferedRate:F0}/s: p50 {point.Latency.P50:F1} ms, p99 {point.Latency.P99:F1} ms ({point.Failed} failed, {point.Latency.Missing} missing)");
        }

        await context.IdleFootprintAsync(name, "idle after load", plain.ProcessId);
        return new PlainReceiverResults(max, ownHalf, receiversHalf, target.Duplicates, target.Lost);
    }
}
