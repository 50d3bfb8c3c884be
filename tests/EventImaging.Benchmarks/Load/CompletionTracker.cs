using System.Diagnostics;

namespace EventImaging.Benchmarks.Load;

/// <summary>
/// When each operation of a run started (for an open loop: when it was due, so a late sender cannot hide latency)
/// and when it completed (an HTTP answer, or the event a subscriber consumed). Indexes are 0..capacity-1.
/// </summary>
internal sealed class CompletionTracker(int capacity)
{
    private readonly long[] started = new long[capacity];
    private readonly long[] completed = new long[capacity];
    private readonly long[] sent = new long[capacity];
    private readonly long[] answered = new long[capacity];
    private int completedCount;
    private int duplicateCount;
    private int failedCount;
    private int givenUpCount;
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int drainTarget = int.MaxValue;

    public int Capacity => capacity;

    public int CompletedCount => Volatile.Read(ref completedCount);

    /// <summary>Completions of an operation that had already completed (a duplicate event).</summary>
    public int Duplicates => Volatile.Read(ref duplicateCount);

    /// <summary>Operations that failed outright (a non-200 answer, a refused connection): they never complete.</summary>
    public int Failed => Volatile.Read(ref failedCount);

    /// <summary>
    /// Callbacks the receiver turned away (503) at every one of the providers' retries: past saturation that is its
    /// design, and the polling fallback finishes the request. They never complete here, and they are not failures.
    /// </summary>
    public int GivenUp => Volatile.Read(ref givenUpCount);

    /// <summary>Operations the service answered that never completed: for a callback, a 200 whose event never came.</summary>
    public int AnsweredNotCompleted
    {
        get
        {
            var count = 0;
            for (var i = 0; i < capacity; i++)
            {
                if (Volatile.Read(ref answered[i]) != 0 && Volatile.Read(ref completed[i]) == 0)
                {
                    count++;
                }
            }

            return count;
        }
    }

    public void Started(int index, long timestamp) => started[index] = timestamp;

    /// <summary>When the request actually left (for an open loop, later than it was due when the sender lags).</summary>
    public void Sent(int index, long timestamp) => sent[index] = timestamp;

    /// <summary>When the service answered the request (before the event it causes is consumed).</summary>
    public void Answered(int index, long timestamp) => answered[index] = timestamp;

    /// <summary>
    /// A subscriber's handler: an event naming an id of <paramref name="index"/> completes that id's operation; events
    /// of other ids (earlier runs, other sections) are ignored.
    /// </summary>
    public Action<Guid, long> CompletesFor(IReadOnlyDictionary<Guid, int> index) => (id, at) =>
    {
        if (index.TryGetValue(id, out var i))
        {
            Completed(i, at);
        }
    };

    /// <summary><see cref="CompletesFor(IReadOnlyDictionary{Guid, int})"/> for operation <c>i</c> named by <c>ids[i]</c>.</summary>
    public Action<Guid, long> CompletesFor(IReadOnlyList<Guid> ids) =>
        CompletesFor(ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i));

    public void Completed(int index, long timestamp)
    {
        if (Interlocked.CompareExchange(ref completed[index], timestamp, 0) == 0)
        {
            Interlocked.Increment(ref completedCount);
            SignalIfDrained();
        }
        else
        {
            Interlocked.Increment(ref duplicateCount);
        }
    }

    public void Fail()
    {
        Interlocked.Increment(ref failedCount);
        SignalIfDrained();
    }

    public void GiveUp()
    {
        Interlocked.Increment(ref givenUpCount);
        SignalIfDrained();
    }

    /// <summary>Waits until <paramref name="sent"/> operations completed, failed or were given up, or the timeout passes.</summary>
    public async Task<bool> DrainAsync(int sent, TimeSpan timeout)
    {
        Volatile.Write(ref drainTarget, sent);
        SignalIfDrained();
        try
        {
            await drained.Task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void SignalIfDrained()
    {
        if (CompletedCount + Failed + GivenUp >= Volatile.Read(ref drainTarget))
        {
            drained.TrySetResult();
        }
    }

    /// <summary>Completions per second whose completion time falls in [from, to).</summary>
    public double CompletionRate(long from, long to) => CompletedBetween(from, to) / Seconds(to - from);

    /// <summary>Completions whose completion time falls in [from, to).</summary>
    public int CompletedBetween(long from, long to)
    {
        var count = 0;
        for (var i = 0; i < capacity; i++)
        {
            var at = Volatile.Read(ref completed[i]);
            if (at >= from && at < to)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// Completions per second from <paramref name="start"/> to the last completion, or to <paramref name="end"/> when
    /// that is later: a service that stopped early, or fell behind, shows a lower rate than it was offered.
    /// </summary>
    public double RateOver(long start, long end)
    {
        var times = CompletionTimes();
        var last = times.Length == 0 ? end : Math.Max(end, times[^1]);
        return times.Length / Seconds(last - start);
    }

    /// <summary>
    /// Rate over the middle of the run: from the completion of the first <paramref name="skipFraction"/> of the
    /// operations to that of the last but <paramref name="skipFraction"/> (drops start-up and the tail).
    /// </summary>
    public double SteadyRate(double skipFraction = 0.1)
    {
        var times = CompletionTimes();
        if (times.Length < 10)
        {
            return double.NaN;
        }

        var first = (int)(times.Length * skipFraction);
        var last = times.Length - 1 - first;
        return (last - first) / Seconds(times[last] - times[first]);
    }

    /// <summary>Latency of the operations that started in [from, to); those that never completed count as missing.</summary>
    public LatencySummary Latency(long from, long to) => Between(started, completed, from, to);

    /// <summary>
    /// Where the time of the operations that started in [from, to) went: due → sent (the load generator's lag),
    /// sent → answered (the service's answer), answered → completed (the event's way to the subscriber).
    /// </summary>
    public LatencyStages Stages(long from, long to) => new(
        Between(started, sent, from, to),
        Between(sent, answered, from, to),
        Between(answered, completed, from, to));

    private LatencySummary Between(long[] begins, long[] ends, long from, long to)
    {
        var latencies = new List<double>();
        var missing = 0;
        for (var i = 0; i < capacity; i++)
        {
            var start = begins[i];
            if (started[i] < from || started[i] >= to || start == 0)
            {
                continue;
            }

            var end = Volatile.Read(ref ends[i]);
            if (end == 0)
            {
                missing++;
            }
            else
            {
                latencies.Add(Seconds(end - start) * 1000);
            }
        }

        return LatencySummary.Of(latencies, missing);
    }

    private long[] CompletionTimes()
    {
        var times = new List<long>(capacity);
        for (var i = 0; i < capacity; i++)
        {
            if (Volatile.Read(ref completed[i]) is var at and not 0)
            {
                times.Add(at);
            }
        }

        times.Sort();
        return [.. times];
    }

    public static long Ticks(TimeSpan duration) => (long)(duration.TotalSeconds * Stopwatch.Frequency);

    public static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}

/// <summary>The parts of an operation's latency: the sender's lag, the service's answer, the event's delivery.</summary>
internal sealed record LatencyStages(LatencySummary Lag, LatencySummary Answer, LatencySummary Delivery);

/// <summary>Latency percentiles in milliseconds over the completed operations of a window.</summary>
internal sealed record LatencySummary(int Count, int Missing, double P50, double P95, double P99, double Max, double Mean)
{
    public static LatencySummary Of(List<double> latencies, int missing)
    {
        if (latencies.Count == 0)
        {
            return new LatencySummary(0, missing, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        latencies.Sort();
        return new LatencySummary(
            latencies.Count,
            missing,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.95),
            Percentile(latencies, 0.99),
            latencies[^1],
            latencies.Average());
    }

    // Nearest rank: the smallest value with at least p of the values at or below it.
    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
