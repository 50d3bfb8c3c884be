using System.Diagnostics;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.Contracts;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// GenerateImage → provider accepted (ImageSubmitted consumed), through the Submitter run as its own process, for
/// the simulator's create latency at 0 and 200 ms and several <c>Submitter:ConcurrentSubmissions</c>. The commands
/// wait in the queue before the Submitter starts, so it is measured draining a backlog at its configured concurrency.
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
            // The first start declares the generate-image queue and its binding; later commands wait there.
            await using (var idle = await ServiceProcess.StartAsync(Service, Settings(8)))
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                Footprint("idle", ProcessMemory.RssMB(idle.ProcessId));
            }

            var underLoad = 0.0;
            foreach (var latency in new[] { 0, 200 })
            {
                foreach (var concurrency in context.Options.Quick ? new[] { 8, 32 } : [8, 32, 64])
                {
                    var (result, rss) = await MeasureAsync(latency, concurrency);
                    context.Report.Submission.Add(result);
                    underLoad = Math.Max(underLoad, rss);
                    context.Log($"create latency {latency} ms, {concurrency} concurrent: {result.RatePerSecond:F0} submitted/s"
                        + (result.Target is { } target ? $" (target {target:F0}/s)" : "") + $", {result.Submitted}/{result.Commands} submitted");
                }
            }

            Footprint("under submission load (max)", underLoad);
        }
        finally
        {
            context.Simulator.SetKnobs(knobs);
        }
    }

    private async Task<(SubmissionResult Result, double Rss)> MeasureAsync(int latencyMs, int concurrency)
    {
        context.Simulator.UpdateKnobs(k => k with { CreateLatencyMs = latencyMs });
        double? target = latencyMs == 0 ? null : 0.9 * concurrency / (latencyMs / 1000.0);
        var count = latencyMs == 0
            ? (context.Options.Quick ? 500 : 2_000)
            : (int)(concurrency / (latencyMs / 1000.0) * context.Options.Duration(6).TotalSeconds);
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        var index = ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        var tracker = new CompletionTracker(count);
        context.Bus.Submitted = (id, at) =>
        {
            if (index.TryGetValue(id, out var i))
            {
                tracker.Completed(i, at);
            }
        };

        await LoadRunner.ClosedLoopAsync(64, TimeSpan.FromMinutes(5), count, i => context.Bus.Bus.Publish(Command(ids[i])));
        await using var submitter = await ServiceProcess.StartAsync(Service, Settings(concurrency));
        await using var rss = new RssSampler(submitter.ProcessId);
        await tracker.DrainAsync(count, TimeSpan.FromSeconds(30 + (count / (target ?? 50.0))));
        return (new SubmissionResult(latencyMs, concurrency, count, tracker.CompletedCount, tracker.SteadyRate(), target), rss.Max);
    }

    private static GenerateImage Command(Guid requestId) => new()
    {
        RequestId = requestId,
        Prompt = "A lighthouse at dusk, oil painting",
        Size = "1024x1024",
        Quality = "high",
        Metadata = new Dictionary<string, string> { ["order"] = "42", ["tenant"] = "benchmark" },
    };

    private Dictionary<string, string?> Settings(int concurrency)
    {
        var settings = context.ServiceSettings();
        settings["Submitter:ConcurrentSubmissions"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Minting the callback token is part of every submission; nothing calls back during the run.
        settings["Callbacks:PublicBaseUrl"] = "http://127.0.0.1:9/";
        return settings;
    }

    private void Footprint(string phase, double? rss)
    {
        context.Report.Footprint.Add(new FootprintResult(Service, phase, rss ?? double.NaN));
        context.Log($"{Service} RSS {phase}: {rss:F0} MB");
    }
}
