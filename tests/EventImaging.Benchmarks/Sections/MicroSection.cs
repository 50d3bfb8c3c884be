using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EventImaging.Benchmarks.Report;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// Runs <see cref="MicroBenchmarks"/> with BenchmarkDotNet in this process (no generated project to build) on a short
/// job, so that the whole benchmark stays within minutes.
/// </summary>
internal sealed class MicroSection(BenchContext context)
{
    public void Run()
    {
        context.Section("micro-benchmarks (BenchmarkDotNet)");
        MicroBenchmarks.Bodies = context.Bodies;
        // A fixed number of invocations per iteration skips BenchmarkDotNet's pilot stage, which took most of the
        // section's time; each operation takes microseconds, so a few thousand fill an iteration.
        var job = Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("short")
            .WithInvocationCount(context.Options.Quick ? 256 : 2_048).WithUnrollFactor(16);
        if (context.Options.Quick)
        {
            job = job.WithWarmupCount(1).WithIterationCount(2);
        }

        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(NullLogger.Instance)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "eventimaging-benchmarkdotnet"))
            .WithOptions(ConfigOptions.DisableLogFile);
        var summary = BenchmarkRunner.Run<MicroBenchmarks>(config);
        foreach (var error in summary.ValidationErrors.Where(e => e.IsCritical))
        {
            context.Report.Notes.Add($"BenchmarkDotNet: {error.Message}");
        }

        foreach (var report in summary.Reports)
        {
            var name = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'');
            var statistics = report.ResultStatistics;
            var result = new MicroResult(
                name,
                statistics?.Mean ?? double.NaN,
                statistics?.ConfidenceInterval.Margin ?? double.NaN,
                report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase));
            context.Report.Micro.Add(result);
            context.Log($"{name}: {result.MeanNs / 1000:F2} µs, {result.AllocatedBytes} B allocated");
        }
    }
}
