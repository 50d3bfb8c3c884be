using System.Diagnostics;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Report;

namespace EventImaging.Benchmarks.Load;

/// <summary>
/// Loads a freshly started service until its CPU per operation settles. A .NET service JITs tens of thousands of
/// methods (first quickly, then again optimised) during its first half-minute of load, which costs it several
/// times its steady-state CPU; measured before that, the figures describe the JIT, not the service.
/// </summary>
internal static class WarmUp
{
    /// <summary>Two consecutive chunks within this share of each other's service CPU per operation count as settled.</summary>
    private const double Settled = 0.12;

    /// <summary>
    /// The most of the service's CPU in a chunk that its background JIT may take for the chunk to count as settled: two
    /// chunks on a plateau while the JIT still works through its backlog agree, and the next ones fall (a Submitter
    /// "settled" at 1,428 µs per submission that way, then measured 886 µs).
    /// </summary>
    private const double JitQuiet = 0.02;

    /// <summary>
    /// Runs <paramref name="chunk"/> for at least <paramref name="minimum"/>, then until two consecutive chunks agree
    /// and the service's background JIT was quiet in the last one, for at most <paramref name="limit"/>.
    /// <paramref name="log"/> gets each chunk and the share of the service's CPU its background JIT took.
    /// </summary>
    public static async Task<List<RateLevel>> UntilSteadyAsync(
        int servicePid, Func<RateLevel?, Task<RateLevel>> chunk, TimeSpan minimum, TimeSpan limit, Action<RateLevel, double> log)
    {
        var clock = Stopwatch.StartNew();
        var chunks = new List<RateLevel>();
        while (true)
        {
            var (jitBefore, serviceBefore) = (CpuMeter.TieredCompilationThreads(servicePid), CpuMeter.SecondsOf(servicePid));
            var level = await chunk(chunks.LastOrDefault());
            var jitShare = JitShare(jitBefore, CpuMeter.TieredCompilationThreads(servicePid), CpuMeter.SecondsOf(servicePid) - serviceBefore);
            chunks.Add(level);
            log(level, jitShare);
            if (clock.Elapsed >= limit
                || (clock.Elapsed >= minimum && jitShare <= JitQuiet && chunks.Count >= 2 && chunks[^2].CpuPerOperation is { } before && level.CpuPerOperation is { } now
                    && Math.Abs(now.Service - before.Service) <= Settled * before.Service))
            {
                return chunks;
            }
        }
    }

    /// <summary>
    /// The share of <paramref name="serviceSeconds"/> the JIT threads took between two readings; 1 (not quiet) when a
    /// thread of the first reading has ended since, as its time in the chunk is unknown.
    /// </summary>
    private static double JitShare(Dictionary<int, double> before, Dictionary<int, double> after, double serviceSeconds)
    {
        if (before.Keys.Any(tid => !after.ContainsKey(tid)))
        {
            return 1;
        }

        var jit = after.Sum(thread => thread.Value - before.GetValueOrDefault(thread.Key));
        return serviceSeconds > 0 ? jit / serviceSeconds : 0;
    }
}
