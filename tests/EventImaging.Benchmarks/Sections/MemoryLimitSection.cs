using System.Globalization;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// Each service at half the maximum load this run measured, inside a memory limit (as a container's <c>-m</c> or a
/// pod's limit sets it) and without one: the WebhookReceiver taking callbacks, the Submitter submitting commands at
/// 0 ms create latency. Every run is a fresh process started inside a memory cgroup of its own (an unlimited one for
/// the run without a limit, so that both report the cgroup's usage), warmed up at the same rate, then held there.
/// </summary>
internal sealed class MemoryLimitSection(BenchContext context)
{
    private const string Receiver = "EventImaging.WebhookReceiver";
    private const string Submitter = "EventImaging.Submitter";
    private const long LimitBytes = Targets.MemoryLimitMiB * 1024L * 1024;

    /// <summary>Rates for a run without the sections that measure the maxima (<c>--only memory</c>): about half of them on a 2-core machine.</summary>
    private const double FallbackCallbackRate = 1_000;
    private const double FallbackSubmissionRate = 100;

    /// <summary>How long the events of a run may trail it: a service that keeps up needs milliseconds, one thrashing in its limit never catches up.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A callback unanswered this long has failed: a receiver thrashing in its limit holds requests for as long as the
    /// client lets it, and the run would wait for them all.
    /// </summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);

    public async Task RunAsync()
    {
        context.Section("memory in a limit");
        var options = context.Options;
        // The issue's 60 s in the limit in the full run. The run without a limit only gives the reference rate at the same
        // open-loop load, which it reaches within seconds (docs/performance.md, Memory in a limit), so it runs half as
        // long. The quick run only checks that it works.
        var duration = options.Quick ? TimeSpan.FromSeconds(8) : TimeSpan.FromSeconds(60);
        var referenceDuration = options.Quick ? duration : duration / 2;
        var warmUp = TimeSpan.FromSeconds(Math.Max(2, duration.TotalSeconds / 12));
        var (callbackRate, submissionRate, rates) = Rates();
        var runs = new List<MemoryLimitRun>();
        string? where = null;
        using var runtime = PrivateRuntimeOrNull();
        using var http = new HttpLoad(AnswerTimeout);
        try
        {
            foreach (var limited in new[] { false, true })
            {
                var (run, cgroup) = await ReceiverAsync(runtime, http, limited, callbackRate, limited ? duration : referenceDuration, warmUp);
                runs.Add(run);
                where ??= cgroup;
            }

            // The receiver's runs left rows in submitted that would fall due for status queries in a new Submitter.
            await context.Seeder.DeferSubmittedAsync();
            foreach (var limited in new[] { false, true })
            {
                runs.Add((await SubmitterAsync(runtime, limited, submissionRate, limited ? duration : referenceDuration, warmUp)).Run);
            }
        }
        catch (CgroupUnavailableException ex)
        {
            context.Log($"no memory cgroup: {ex.Message}");
            context.Report.MemoryLimit = new MemoryLimitResults(Targets.MemoryLimitMiB, duration.TotalSeconds, null, rates, runtime is not null, runs, $"No memory cgroup could be made: {ex.Message}.", referenceDuration.TotalSeconds);
            return;
        }

        context.Report.MemoryLimit = new MemoryLimitResults(Targets.MemoryLimitMiB, duration.TotalSeconds, where, rates, runtime is not null, runs, ReferenceSeconds: referenceDuration.TotalSeconds);
    }

    /// <summary>
    /// The services' private runtime copy, or null (and a note) when it cannot be made or
    /// <c>EVENTIMAGING_BENCH_SHARED_RUNTIME=1</c> asks for the shared one: then their code is charged elsewhere.
    /// </summary>
    private PrivateRuntime? PrivateRuntimeOrNull()
    {
        if (Environment.GetEnvironmentVariable("EVENTIMAGING_BENCH_SHARED_RUNTIME") == "1")
        {
            context.Report.Notes.Add("Memory in a limit: the services ran from the shared runtime (EVENTIMAGING_BENCH_SHARED_RUNTIME=1), whose cached pages are charged to other cgroups, so their cgroup usage leaves out most of their code.");
            return null;
        }

        try
        {
            return PrivateRuntime.Create();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            context.Report.Notes.Add($"Memory in a limit: no private copy of the runtime ({ex.Message}); the services ran from the shared one, whose cached pages are charged to other cgroups, so their cgroup usage leaves out most of their code.");
            return null;
        }
    }

    /// <summary>Half of each maximum measured earlier in this run, or fixed rates (and a note saying so) without it.</summary>
    private (double Callbacks, double Submissions, string Source) Rates()
    {
        var callbacks = context.Report.Callbacks?.MaxRate / 2;
        var submissions = context.Report.Submission.FirstOrDefault(s => s.CreateLatencyMs == 0 && s.Concurrency == Targets.DefaultConcurrency)?.RatePerSecond / 2;
        var source = string.Create(CultureInfo.InvariantCulture,
            $"{(callbacks is null ? $"callbacks at a fixed {FallbackCallbackRate:F0}/s, as the callback section did not run" : "callbacks at half the callback section's maximum")}, "
            + $"{(submissions is null ? $"commands at a fixed {FallbackSubmissionRate:F0}/s, as the submission section did not run" : $"commands at half the submission section's rate at 0 ms, ConcurrentSubmissions {Targets.DefaultConcurrency}")}");
        if (callbacks is null || submissions is null)
        {
            context.Report.Notes.Add($"Memory in a limit: {source}.");
        }

        return (callbacks ?? FallbackCallbackRate, submissions is > 0 ? submissions.Value : FallbackSubmissionRate, source);
    }

    private Task<(MemoryLimitRun Run, string Cgroup)> ReceiverAsync(PrivateRuntime? runtime, HttpLoad http, bool limited, double rate, TimeSpan duration, TimeSpan warmUp) =>
        RunAsync(runtime, Receiver, limited, rate, duration, warmUp, context.ServiceSettings(), async (process, seconds) =>
        {
            var load = new CallbackLoad(context, process, (rows, i) => $"/callbacks/{LedgerSeeder.Provider}/{rows.Tokens[i]}", http);
            var (window, tracker) = await load.RunOpenAsync(rate, seconds, DrainTimeout);
            return new Outcome(window.Sent, tracker.CompletedCount, tracker.Failed, tracker.RateOver(window.Start, window.End), load.TurnedAway);
        });

    private async Task<(MemoryLimitRun Run, string Cgroup)> SubmitterAsync(PrivateRuntime? runtime, bool limited, double rate, TimeSpan duration, TimeSpan warmUp)
    {
        var knobs = context.Simulator.Knobs;
        // Tasks finish long after the run: no callback or poll competes with the submissions.
        context.Simulator.UpdateKnobs(k => k with { CreateLatencyMs = 0, CompletionDelayMs = 600_000 });
        try
        {
            return await RunAsync(runtime, Submitter, limited, rate, duration, warmUp, SubmissionSection.Settings(context, Targets.DefaultConcurrency), (_, seconds) => SubmitAsync(rate, seconds));
        }
        finally
        {
            context.Simulator.SetKnobs(knobs);
        }
    }

    /// <summary><c>GenerateImage</c> commands published at <paramref name="rate"/>, each done when its <c>ImageSubmitted</c> is consumed.</summary>
    private async Task<Outcome> SubmitAsync(double rate, TimeSpan duration)
    {
        var count = (int)(rate * duration.TotalSeconds);
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        var tracker = new CompletionTracker(count);
        context.Bus.Submitted = tracker.CompletesFor(ids);
        var window = await LoadRunner.OpenLoopAsync(rate, duration, count, async (i, due) =>
        {
            tracker.Started(i, due);
            try
            {
                await context.Bus.Bus.Publish(SubmissionSection.Command(ids[i]));
            }
            catch (Exception ex) when (ex is MassTransit.MassTransitException or TimeoutException or OperationCanceledException)
            {
                tracker.Fail();
            }
        });
        await tracker.DrainAsync(window.Sent, DrainTimeout);
        return new Outcome(window.Sent, tracker.CompletedCount, tracker.Failed, tracker.RateOver(window.Start, window.End));
    }

    /// <summary>
    /// One run: a fresh cgroup (limited or not) and a fresh process started inside it, from the private runtime copy
    /// with its pages dropped from the page cache, as a container starts from its image; its idle memory; the load at
    /// <paramref name="rate"/> for <paramref name="warmUp"/> to warm it up, then for <paramref name="duration"/> with its
    /// memory sampled; whether the process and the cgroup's OOM counter survived it.
    /// </summary>
    private async Task<(MemoryLimitRun Run, string Cgroup)> RunAsync(
        PrivateRuntime? runtime, string service, bool limited, double rate, TimeSpan duration, TimeSpan warmUp, Dictionary<string, string?> settings, Func<ServiceProcess, TimeSpan, Task<Outcome>> load)
    {
        var name = $"{context.RunName}-{service.Replace("EventImaging.", "", StringComparison.Ordinal).ToLowerInvariant()}-{(limited ? "limited" : "unlimited")}";
        using var cgroup = MemoryCgroup.Create(name, limited ? LimitBytes : null);
        var label = $"{service} {(limited ? $"in {Targets.MemoryLimitMiB} MiB" : "without a limit")}";
        ServiceProcess process;
        try
        {
            var assembly = ServiceProcess.AssemblyOf(service);
            if (runtime is not null)
            {
                assembly = runtime.CopyApp(assembly);
                runtime.DropCache();
            }

            process = await ServiceProcess.StartAssemblyAsync(assembly, settings, output: null, cgroup.Launcher(runtime?.Muxer ?? "dotnet"));
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            context.Log($"{label}: did not start: {ex.Message}");
            return (Failed(service, limited, rate, cgroup, ex.Message), cgroup.Description);
        }

        await using (process)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            var (idleRss, idleCgroup) = (ProcessMemory.RssMB(process.ProcessId) ?? double.NaN, cgroup.UsageMB);
            context.Log($"{label}: idle RSS {idleRss:F0} MB, cgroup {idleCgroup:F0} MB ({cgroup.Location})");

            var warmedUp = await load(process, warmUp);
            context.Log($"{label}: warm-up at {rate:F0}/s: {warmedUp.AchievedRate:F0}/s achieved");

            Outcome outcome;
            double peakRss, peakCgroup, peakWorkingSet;
            var faultsBefore = cgroup.MajorFaults;
            await using (var rss = new RssSampler(process.ProcessId))
            // An empty cgroup's figures say nothing of the process that was killed in it.
            await using (var usage = new PeakSampler(() => process.HasExited ? null : cgroup.UsageMB))
            await using (var workingSet = new PeakSampler(() => process.HasExited ? null : cgroup.WorkingSetMB))
            {
                outcome = await load(process, duration);
                // The kernel's own peak misses nothing between samples; it counts the start-up and warm-up too.
                (peakRss, peakCgroup, peakWorkingSet) = (rss.Max, cgroup.PeakMB ?? usage.Max, workingSet.Max);
            }

            var run = new MemoryLimitRun(
                service, limited, rate, outcome.AchievedRate, outcome.Sent, outcome.Completed, outcome.Failed, cgroup.OomKills, cgroup.MajorFaults - faultsBefore,
                !process.HasExited, idleRss, peakRss, idleCgroup, peakCgroup, peakWorkingSet, TurnedAway: outcome.TurnedAway);
            context.Log(string.Create(CultureInfo.InvariantCulture,
                $"{label}: {run.AchievedRate:F0}/s of {rate:F0}/s offered for {duration.TotalSeconds:F0} s ({run.Failed} failed, {run.Missing} missing, {run.TurnedAway} turned away and sent again); ")
                + string.Create(CultureInfo.InvariantCulture,
                $"{(run.Survived ? "survived" : "ENDED")}, OOM kills {run.OomKills?.ToString(CultureInfo.InvariantCulture) ?? "?"}, major faults {run.MajorFaults?.ToString(CultureInfo.InvariantCulture) ?? "?"}; peak RSS {peakRss:F0} MB, cgroup {peakCgroup:F0} MB, working set {peakWorkingSet:F0} MB"));
            return (run, cgroup.Description);
        }
    }

    private static MemoryLimitRun Failed(string service, bool limited, double rate, MemoryCgroup cgroup, string problem) =>
        new(service, limited, rate, 0, 0, 0, 0, cgroup.OomKills, cgroup.MajorFaults, false, double.NaN, double.NaN, cgroup.UsageMB, cgroup.PeakMB, null, problem);

    /// <summary>
    /// Operations sent, completed (their event consumed) and failed, the events consumed per second, and the callbacks
    /// the receiver turned away at its in-flight bound (503) and the load generator sent again.
    /// </summary>
    private sealed record Outcome(int Sent, int Completed, int Failed, double AchievedRate, int TurnedAway = 0);
}
