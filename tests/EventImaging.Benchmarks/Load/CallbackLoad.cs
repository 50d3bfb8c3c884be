using System.Diagnostics;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Report;
using EventImaging.Benchmarks.Sections;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Load;

/// <summary>
/// Valid callbacks at a process taking them (the WebhookReceiver, or the plain receiver): rows seeded in
/// <c>submitted</c> for each run, each callback sent as the providers send it, each <c>ImageCompleted</c> consumed by
/// the benchmark's subscriber; and what went wrong over every run against the process.
/// </summary>
/// <param name="path">The path of row <c>i</c>'s callback on the process.</param>
/// <param name="http">The HTTP client to send with; the run's own (<see cref="BenchContext.Http"/>) by default.</param>
internal sealed class CallbackLoad(BenchContext context, ServiceProcess process, Func<CallbackRows, int, string> path, HttpLoad? http = null)
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(20);

    private int turnedAway;

    public ServiceProcess Process => process;

    /// <summary>Callbacks turned away at the receiver's in-flight bound (503 with Retry-After) and sent again.</summary>
    public int TurnedAway => Volatile.Read(ref turnedAway);

    /// <summary>Events that arrived a second time.</summary>
    public int Duplicates { get; private set; }

    /// <summary>Callbacks answered 200 whose event never arrived (within the drain timeout).</summary>
    public int Lost { get; private set; }

    /// <summary>Callbacks turned away at every one of the providers' retries.</summary>
    public int GivenUp { get; private set; }

    /// <summary>
    /// Closed-loop runs of 64 in flight until the process's CPU per callback settles and its JIT is quiet (see
    /// <see cref="WarmUp"/>), for at most <paramref name="limit"/>.
    /// </summary>
    public Task<List<RateLevel>> WarmUpAsync(string label, TimeSpan limit)
    {
        var duration = context.Options.Duration(5);
        return WarmUp.UntilSteadyAsync(
            process.ProcessId,
            // Rows for twice the last chunk's rate.
            last => ClosedAsync(64, duration, (last?.RatePerSecond ?? 1_500) * 2 / 3),
            context.Options.Duration(15),
            limit,
            (level, jit) => context.Log($"{label}: {level.RatePerSecond:F0} callbacks/s; CPU µs per callback: {level.CpuPerOperation}; background JIT {jit:P0} of the service's CPU"));
    }

    /// <summary>
    /// <paramref name="concurrency"/> callbacks in flight for <paramref name="duration"/>, on rows for three times
    /// <paramref name="expectedRate"/> (at least 3,000), so the run never runs out of them.
    /// </summary>
    public async Task<RateLevel> ClosedAsync(int concurrency, TimeSpan duration, double expectedRate)
    {
        var (rows, tracker) = await PrepareAsync((int)Math.Max(3_000, expectedRate * 3 * duration.TotalSeconds));
        var cpu = new CpuMeter(process.ProcessId);
        var window = await LoadRunner.ClosedLoopAsync(concurrency, duration, rows.Count, i => PostAsync(rows, tracker, i, Stopwatch.GetTimestamp()));
        await tracker.DrainAsync(window.Sent, DrainTimeout);
        Count(tracker);
        return BaselineSection.Level(concurrency, tracker, window, duration, cpu);
    }

    /// <summary>Callbacks due at <paramref name="rate"/> a second for <paramref name="duration"/>: their latency, and the events consumed in each second.</summary>
    public async Task<LatencyPoint> OpenAsync(double fraction, double rate, TimeSpan duration)
    {
        var (window, tracker) = await RunOpenAsync(rate, duration);
        // The first second (or 15 %) settles connection counts; latency is taken over the rest.
        var settled = window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(Math.Min(1, duration.TotalSeconds * 0.15)));
        var perSecond = Enumerable.Range(0, (int)Math.Ceiling(duration.TotalSeconds))
            .Select(k => tracker.CompletedBetween(window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(k)), window.Start + CompletionTracker.Ticks(TimeSpan.FromSeconds(k + 1))))
            .ToArray();
        return new LatencyPoint(fraction, rate, window.Sent, tracker.Failed, tracker.Latency(settled, window.End), perSecond, tracker.Stages(settled, window.End));
    }

    /// <summary>The open loop itself, drained (for at most <paramref name="drain"/>, 20 s by default): when it ran, and every callback's life.</summary>
    public async Task<(LoadWindow Window, CompletionTracker Tracker)> RunOpenAsync(double rate, TimeSpan duration, TimeSpan? drain = null)
    {
        var (rows, tracker) = await PrepareAsync((int)(rate * duration.TotalSeconds) + 1);
        var window = await LoadRunner.OpenLoopAsync(rate, duration, rows.Count, (i, due) => PostAsync(rows, tracker, i, due));
        await tracker.DrainAsync(window.Sent, drain ?? DrainTimeout);
        Count(tracker);
        return (window, tracker);
    }

    private async Task<(CallbackRows Rows, CompletionTracker Tracker)> PrepareAsync(int count)
    {
        var rows = await context.Seeder.SeedSubmittedAsync(count);
        var tracker = new CompletionTracker(rows.Count);
        context.Bus.Completed = tracker.CompletesFor(rows.Index);
        return (rows, tracker);
    }

    private Task PostAsync(CallbackRows rows, CompletionTracker tracker, int i, long due) =>
        CallbackSender.SendAsync(
            http ?? context.Http,
            new Uri(process.BaseUrl, path(rows, i)),
            context.Bodies.EvolinkCallbackFor(rows.TaskIds[i]),
            tracker,
            i,
            due,
            () => Interlocked.Increment(ref turnedAway));

    private void Count(CompletionTracker tracker)
    {
        Duplicates += tracker.Duplicates;
        Lost += tracker.AnsweredNotCompleted;
        GivenUp += tracker.GivenUp;
    }
}
