using System.Diagnostics;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.Contracts;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// GenerateImage → provider accepted (ImageSubmitted consumed), through the Submitter run as its own process at its
/// default <c>Submitter:ConcurrentSubmissions</c>, for the simulator's create latency at 0 and 200 ms: warmed up
/// first, then measured draining a backlog of commands at each latency.
/// </summary>
internal sealed class SubmissionSection(BenchContext context)
{
    private const string Service = "EventImaging.Submitter";

    public async Task RunAsync()
    {
        context.Section("submission");
        var knobs = context.Simulator.Knobs;
        // Tasks finish long after the run: no callback or poll competes with the submissions.
        context.Simulator.UpdateKnobs(k => k with { CompletionDelayMs = 600_000 });
        try
        {
            // The Submitter's default concurrency, which the target is held at: every other one needs a process and
            // a warm-up of its own, more than the run's time allows.
            var concurrency = Targets.DefaultConcurrency;
            await using var submitter = await ServiceProcess.StartAsync(Service, Settings(context, concurrency), output: null);
            await context.IdleFootprintAsync(Service, "idle", submitter.ProcessId);

            await using var rss = new RssSampler(submitter.ProcessId);
            // Batches of about five seconds' worth (the last batch's rate), so that a slow Submitter is not held longer.
            // Its background JIT has taken 30–37 s to go quiet under this load on 2 cores.
            var warmUpLimit = context.Options.Duration(40);
            var warmUp = await WarmUp.UntilSteadyAsync(
                submitter.ProcessId,
                async last => Level(concurrency, await MeasureAsync(submitter, 0, concurrency, Commands(last?.RatePerSecond, context.Options.Duration(5)))),
                context.Options.Duration(15),
                warmUpLimit,
                (level, jit) => context.Log($"warm-up, {concurrency} concurrent: {level.RatePerSecond:F0} submitted/s; CPU µs per submission: {level.CpuPerOperation}; background JIT {jit:P0} of the service's CPU"));
            context.Report.Notes.Add($"The Submitter with ConcurrentSubmissions {concurrency} was warmed up with {warmUp.Count} batches at 0 ms create latency until its CPU per submission settled and its background JIT went quiet, or for at most {warmUpLimit.TotalSeconds:F0} s: "
                + string.Join(" → ", warmUp.Select(l => $"{l.CpuPerOperation?.Service:F0} µs")) + ".");

            foreach (var latency in new[] { 0, 200 })
            {
                var count = latency == 0
                    ? Commands(warmUp[^1].RatePerSecond, context.Options.Duration(10))
                    : (int)(concurrency / (latency / 1000.0) * context.Options.Duration(6).TotalSeconds);
                var result = await MeasureAsync(submitter, latency, concurrency, count);
                context.Report.Submission.Add(result);
                context.Log($"create latency {latency} ms, {concurrency} concurrent: {result.RatePerSecond:F0} submitted/s"
                    + (result.Target is { } target ? $" (target {target:F0}/s)" : "") + $", {result.Submitted}/{result.Commands} submitted; CPU µs per submission: {result.CpuPerOperation}");
            }

            context.Footprint(Service, $"after load, ConcurrentSubmissions {concurrency}", ProcessMemory.RssMB(submitter.ProcessId), submitter.ProcessId);
            context.Footprint(Service, "under submission load (max)", rss.Max);
        }
        finally
        {
            context.Simulator.SetKnobs(knobs);
        }
    }

    /// <summary>Commands for <paramref name="duration"/> at <paramref name="rate"/> (a first guess without one), at least 100.</summary>
    private static int Commands(double? rate, TimeSpan duration) =>
        (int)Math.Max(100, (rate is > 0 ? rate.Value : 60) * duration.TotalSeconds);

    /// <summary>Publishes <paramref name="count"/> commands as fast as confirms allow and waits until every one was submitted.</summary>
    private async Task<SubmissionResult> MeasureAsync(ServiceProcess submitter, int latencyMs, int concurrency, int count)
    {
        context.Simulator.UpdateKnobs(k => k with { CreateLatencyMs = latencyMs });
        double? target = latencyMs == 0 ? null : 0.9 * concurrency / (latencyMs / 1000.0);
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        var tracker = new CompletionTracker(count);
        context.Bus.Submitted = tracker.CompletesFor(ids);

        var cpu = new CpuMeter(submitter.ProcessId);
        // Publishing outpaces submitting many times over, so the Submitter soon drains a backlog at its configured concurrency.
        await LoadRunner.ClosedLoopAsync(64, TimeSpan.FromMinutes(5), count, i => context.Bus.Bus.Publish(Command(ids[i])));
        await tracker.DrainAsync(count, TimeSpan.FromSeconds(30 + (count / (target ?? 50.0))));
        return new SubmissionResult(latencyMs, concurrency, count, tracker.CompletedCount, tracker.SteadyRate(), target, cpu.Elapsed().PerOperation(tracker.CompletedCount));
    }

    private static RateLevel Level(int concurrency, SubmissionResult result) =>
        new(concurrency, result.RatePerSecond, result.Commands, result.Commands - result.Submitted, result.CpuPerOperation);

    /// <summary>The command every submission measurement sends.</summary>
    public static GenerateImage Command(Guid requestId) => new()
    {
        RequestId = requestId,
        Prompt = "A lighthouse at dusk, oil painting",
        Size = "1024x1024",
        Quality = "high",
        Metadata = new Dictionary<string, string> { ["order"] = "42", ["tenant"] = "benchmark" },
    };

    /// <summary>A Submitter's settings for submissions alone: <paramref name="concurrency"/>, and nothing to call back.</summary>
    public static Dictionary<string, string?> Settings(BenchContext context, int concurrency)
    {
        var settings = context.ServiceSettings();
        settings["Submitter:ConcurrentSubmissions"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Minting the callback token is part of every submission; nothing calls back during the run.
        settings["Callbacks:PublicBaseUrl"] = "http://127.0.0.1:9/";
        return settings;
    }
}
