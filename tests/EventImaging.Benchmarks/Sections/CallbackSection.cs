using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// Callback ingestion through the WebhookReceiver, run as its own process: valid callbacks (tokens minted by the real
/// CallbackTokens, rows waiting in <c>submitted</c>, the simulator's evolink body) → ImageCompleted consumed by the
/// benchmark's subscriber. The receiver and <see cref="PlainReceiverServer"/> (the receiver's libraries alone) are
/// both started and warmed up; then rounds, each measuring the callback's parts (when the baseline runs), the receiver's
/// maximum (closed loop) and the plain receiver's, one right after the other; then latency at fractions of the
/// receiver's maximum (open loop), the plain receiver's beside its half, and a few seconds past saturation.
/// </summary>
/// <param name="parts">The baseline, warmed up, whose parts each round measures; null when it does not run.</param>
/// <param name="composed">
/// The optional composition (<c>--only baseline,callbacks,composition</c>): <see cref="ComposedPartsServer"/> started and
/// warmed up beside the others and measured last in each round. Not in the full run, whose 10 minutes have no 45 s to
/// spare.
/// </param>
internal sealed class CallbackSection(BenchContext context, BaselineSection? parts, bool composed)
{
    private const string Service = "EventImaging.WebhookReceiver";

    /// <summary>
    /// Seconds each measurement of a round lasts. A ratio compares figures taken in the same round, about 20 s apart at
    /// most: this machine's speed moved by a third between sections a minute apart (a callback's parts at 292 and 359 µs
    /// of machine CPU, the receiver at 482 and 396 µs, in two full runs of one code on 2026-12-07), and those moves
    /// decided the comparative targets. Three rounds of 3 s take 45 s of measuring against the 35 s of the single
    /// measurements before them (publish and the statements at two levels of 5 s, bare Kestrel, the receiver and the
    /// plain receiver at one).
    /// </summary>
    public const double RoundSeconds = 3;

    /// <summary>How long each measurement of a round lasts in this run (a third of it, at least 1 s, with --quick).</summary>
    public static TimeSpan RoundDuration(BenchOptions options) => options.Duration(RoundSeconds);

    /// <summary>
    /// Callbacks in flight in the receiver's closed loop. The receiver's group commit gathers more rows a statement, and
    /// its publishes more messages a confirm, the more callbacks it holds: on 2026-12-07 it took 2,279 / 3,604 / 3,755 /
    /// 4,437 callbacks/s at 64 / 192 / 384 / 768 in flight, where every one of its parts had passed its best; in four
    /// later runs 3,729–4,476 at 192, and at 384 / 768: 4,048 / 4,179, 4,722 / 4,831, 5,501 / 5,517, 4,588 / 4,422. So
    /// one level, 384: 192 is below it and 768 no better.
    /// </summary>
    public static int Level(BenchOptions options) => options.Quick ? 64 : 384;

    /// <summary>Rounds of the comparisons: the median of three, one in a quick run.</summary>
    public static int Rounds(BenchOptions options) => options.Quick ? 1 : 3;

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
        var options = context.Options;
        await using var receiver = await ServiceProcess.StartAsync(Service, context.ServiceSettings(), output: null);
        var target = new CallbackLoad(context, receiver, (rows, i) => $"/callbacks/{LedgerSeeder.Provider}/{rows.Tokens[i]}");
        await context.IdleFootprintAsync(Service, "idle", receiver.ProcessId);
        await using var underLoad = new RssSampler(receiver.ProcessId);

        // 20 s ended a receiver's warm-up at 438 → 182 µs per callback, its JIT still busy; it goes quiet after 25–32 s.
        var warmUpLimit = options.Duration(30);
        var warmUp = await target.WarmUpAsync("warm-up", warmUpLimit);
        context.Report.Notes.Add($"The WebhookReceiver was warmed up with {warmUp.Count} closed-loop runs of 64 callbacks in flight until its CPU per callback settled and its background JIT went quiet, or for at most {warmUpLimit.TotalSeconds:F0} s: "
            + string.Join(" → ", warmUp.Select(l => $"{l.CpuPerOperation?.Service:F0} µs")) + ".");

        await using var plainProcess = await StartReferenceAsync(PlainReceiverServer.Flag, PlainReceiverServer.Name, "idle (no request yet)");
        // The references send with clients of their own: the run's counts the receiver's answers other than 200.
        using var plainHttp = new HttpLoad();
        var plain = new CallbackLoad(context, plainProcess, (rows, i) => $"{PlainReceiverServer.RoutePrefix}{rows.Ids[i]}", plainHttp);
        // The receiver's limit: its JIT takes as long to go quiet. With 20 s it was still taking 12–26 % of the reference's
        // CPU in the last chunk of three runs of 2026-12-08, and its maximum came out at 3,076/s (660 µs a callback) in one
        // of them against 4,256/s (489 µs) when it had settled: an unsettled reference flattered both of the receiver's
        // comparisons with it.
        var plainWarmUp = await plain.WarmUpAsync("plain receiver warm-up", warmUpLimit);
        context.Report.Notes.Add($"The plain receiver was warmed up alike, with {plainWarmUp.Count} runs, or for at most {warmUpLimit.TotalSeconds:F0} s: "
            + string.Join(" → ", plainWarmUp.Select(l => $"{l.CpuPerOperation?.Service:F0} µs")) + ".");

        await using var composedProcess = composed ? await StartReferenceAsync(ComposedPartsServer.Flag, ComposedPartsServer.Name, "idle (no request yet)") : null;
        using var composedHttp = composed ? new HttpLoad() : null;
        var composedParts = composedProcess is null ? null : new CallbackLoad(context, composedProcess, (rows, i) => $"{ComposedPartsServer.RoutePrefix}{rows.Ids[i]}", composedHttp);
        var composedWarmUp = composedParts is null ? null : await composedParts.WarmUpAsync("the parts composed, warm-up", warmUpLimit);

        var rounds = await RoundsAsync(target, warmUp[^1].RatePerSecond, plain, plainWarmUp[^1].RatePerSecond, composedParts, composedWarmUp?[^1].RatePerSecond ?? 0);
        if (composedParts is not null)
        {
            var levels = rounds.Select(r => r.Composed!).ToList();
            context.Report.Composition = new CompositionResults(levels, Medians.Of(levels, l => l.RatePerSecond).RatePerSecond, composedParts.Duplicates, composedParts.Lost);
        }

        var max = Medians.Of(rounds.Select(r => r.Receiver), l => l.RatePerSecond).RatePerSecond;
        var plainMax = Medians.Of(rounds.Select(r => r.Plain), l => l.RatePerSecond);

        var open = new List<LatencyPoint>();
        LatencyPoint? plainAtReceiversHalf = null;
        foreach (var fraction in options.Quick ? new[] { 0.5, 0.9 } : [0.5, 0.75, 0.9])
        {
            await using var atThisRate = new RssSampler(receiver.ProcessId);
            var point = await target.OpenAsync(fraction, fraction * max, OpenLoop(options));
            open.Add(point);
            var l = point.Latency;
            context.Log($"open loop at {fraction:P0} of max ({point.OfferedRate:F0}/s): p50 {l.P50:F1} ms, p95 {l.P95:F1} ms, p99 {l.P99:F1} ms, max {l.Max:F1} ms ({point.Failed} failed, {l.Missing} missing)");
            var s = point.Stages!;
            context.Log($"  p50 / p99 ms of its parts: sender's lag {s.Lag.P50:F1} / {s.Lag.P99:F1}, receiver's answer {s.Answer.P50:F1} / {s.Answer.P99:F1}, event to subscriber {s.Delivery.P50:F1} / {s.Delivery.P99:F1}");
            if (Math.Abs(fraction - 0.5) < 0.01)
            {
                context.Footprint(Service, $"under callback load: {point.OfferedRate:F0}/s, 50 % of max (max)", atThisRate.Max, receiver.ProcessId);

                // The tail's reference, right after it and at the same rate.
                await using var plainUnderLoad = new RssSampler(plainProcess.ProcessId);
                plainAtReceiversHalf = await plain.OpenAsync(0.5 * max / plainMax.RatePerSecond, 0.5 * max, OpenLoop(options));
                context.Footprint(PlainReceiverServer.Name, $"under the receiver's 50 % load: {plainAtReceiversHalf.OfferedRate:F0}/s (max)", plainUnderLoad.Max, plainProcess.ProcessId);
                LogPlain(plainAtReceiversHalf);
            }
        }

        var overload = await OverloadAsync(target, 2 * max);
        context.Footprint(Service, "peak over the whole section (saturation included)", underLoad.Max);
        await context.IdleFootprintAsync(Service, "idle after load", receiver.ProcessId);
        var errors = context.Http.Errors;

        var plainOwnHalf = await plain.OpenAsync(0.5, 0.5 * plainMax.RatePerSecond, OpenLoop(options));
        LogPlain(plainOwnHalf);
        await context.IdleFootprintAsync(PlainReceiverServer.Name, "idle after load", plainProcess.ProcessId);

        context.Report.Callbacks = new CallbackResults(
            context.Bodies.EvolinkCallbackFor("task-unified-1800000000-00000000").Length,
            [.. rounds.Select(r => r.Receiver)],
            max,
            open,
            errors,
            target.Duplicates,
            target.Lost,
            new PlainReceiverResults(plainMax, plainOwnHalf, plainAtReceiversHalf!, plain.Duplicates, plain.Lost),
            target.TurnedAway,
            overload,
            target.GivenUp,
            rounds);
    }

    /// <summary>
    /// The comparisons' rounds: in each, the parts (when the baseline runs), the receiver's closed loop and the plain
    /// receiver's, one right after the other.
    /// </summary>
    private async Task<List<ComparisonRound>> RoundsAsync(CallbackLoad receiver, double receiverRate, CallbackLoad plain, double plainRate, CallbackLoad? composedParts, double composedRate)
    {
        var options = context.Options;
        var measured = RoundDuration(options);
        var rounds = new List<ComparisonRound>();
        for (var round = 1; round <= Rounds(options); round++)
        {
            var partsRound = parts is null ? null : await parts.MeasureAsync();
            var mine = await receiver.ClosedAsync(Level(options), measured, receiverRate);
            context.Log($"round {round}: the receiver, {Level(options)} in flight: {mine.RatePerSecond:F0} callbacks/s ({mine.Failed} failed); CPU µs per callback: {mine.CpuPerOperation}");
            var theirs = await plain.ClosedAsync(PlainLevel(options), measured, plainRate);
            context.Log($"round {round}: the plain receiver, {PlainLevel(options)} in flight: {theirs.RatePerSecond:F0}/s; CPU µs per callback: {theirs.CpuPerOperation}");
            var ofParts = partsRound is null || context.Report.Machine is not { } machine ? "" : $"{mine.RatePerSecond / partsRound.Bound(machine.Cores):F2} of its parts' bound ({partsRound.Bound(machine.Cores):F0}/s), ";
            context.Log($"round {round}: the receiver at {ofParts}{mine.RatePerSecond / theirs.RatePerSecond:F2} × the plain receiver");
            RateLevel? composition = null;
            if (composedParts is not null)
            {
                composition = await composedParts.ClosedAsync(Level(options), measured, composedRate);
                context.Log($"round {round}: the parts composed, {Level(options)} in flight: {composition.RatePerSecond:F0}/s; CPU µs per callback: {composition.CpuPerOperation}; the receiver at {mine.RatePerSecond / composition.RatePerSecond:F2} of it");
            }

            rounds.Add(new ComparisonRound(partsRound, mine, theirs, composition));
        }

        return rounds;
    }

    /// <summary>
    /// A reference process (this program started with <paramref name="flag"/>) with the runtime settings every service has
    /// (Server GC, set by the Web SDK; no spinning thread-pool workers, from services/Directory.Build.props) unless
    /// EVENTIMAGING_BENCH_SERVICE_ENV says otherwise; not the receiver's own (no dynamic PGO, its heap at 40 %), which are
    /// part of what is compared (docs/performance.md).
    /// </summary>
    private async Task<ServiceProcess> StartReferenceAsync(string flag, string name, string idlePhase)
    {
        var settings = context.ServiceSettings();
        settings.TryAdd("DOTNET_gcServer", "1");
        settings.TryAdd("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "0");
        var process = await ServiceProcess.StartAssemblyAsync(typeof(PlainReceiverServer).Assembly.Location, settings, output: null, flag);
        await context.IdleFootprintAsync(name, idlePhase, process.ProcessId);
        return process;
    }

    private void LogPlain(LatencyPoint point) =>
        context.Log($"plain receiver at {point.OfferedRate:F0}/s: p50 {point.Latency.P50:F1} ms, p99 {point.Latency.P99:F1} ms ({point.Failed} failed, {point.Latency.Missing} missing)");

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
}
