using System.Diagnostics;
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
    /// Runs <paramref name="chunk"/> for at least <paramref name="minimum"/> (the JIT's second pass has a backlog that
    /// similar chunks can hide), then until two consecutive chunks agree, for at most <paramref name="limit"/>.
    /// </summary>
    public static async Task<List<RateLevel>> UntilSteadyAsync(Func<RateLevel?, Task<RateLevel>> chunk, TimeSpan minimum, TimeSpan limit, Action<RateLevel> log)
    {
        var clock = Stopwatch.StartNew();
        var chunks = new List<RateLevel>();
        while (true)
        {
            var level = await chunk(chunks.LastOrDefault());
            chunks.Add(level);
            log(level);
            if (clock.Elapsed >= limit
                || (clock.Elapsed >= minimum && chunks.Count >= 2 && chunks[^2].CpuPerOperation is { } before && level.CpuPerOperation is { } now
                    && Math.Abs(now.Service - before.Service) <= Settled * before.Service))
            {
                return chunks;
            }
        }
    }
}
