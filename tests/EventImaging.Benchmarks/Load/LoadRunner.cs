using System.Diagnostics;

namespace EventImaging.Benchmarks.Load;

/// <summary>The window a load ran in (Stopwatch timestamps) and how many operations it started.</summary>
internal sealed record LoadWindow(long Start, long End, int Sent);

/// <summary>
/// The two load shapes used everywhere, so that baselines and the product are driven the same way: a closed loop
/// (N workers, each starting the next operation when its last returned: finds the maximum rate) and an open loop
/// (operations due at a constant rate whatever the answers do: measures latency at a given rate).
/// </summary>
internal static class LoadRunner
{
    public static async Task<LoadWindow> ClosedLoopAsync(int workers, TimeSpan duration, int capacity, Func<int, Task> operation)
    {
        var next = -1;
        var start = Stopwatch.GetTimestamp();
        var end = start + CompletionTracker.Ticks(duration);

        async Task WorkAsync()
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var index = Interlocked.Increment(ref next);
                if (index >= capacity)
                {
                    return;
                }

                await operation(index);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(WorkAsync)));
        return new LoadWindow(start, Math.Min(end, Stopwatch.GetTimestamp()), Math.Min(Volatile.Read(ref next) + 1, capacity));
    }

    /// <summary>
    /// Starts operation i at start + i / rate (to within about a millisecond), on a dedicated pacing thread that hands
    /// each one to the thread pool. The operation gets the instant it was due, which is what latency is measured from.
    /// </summary>
    public static async Task<LoadWindow> OpenLoopAsync(double rate, TimeSpan duration, int capacity, Func<int, long, Task> operation)
    {
        var total = Math.Min(capacity, (int)(rate * duration.TotalSeconds));
        var pending = total;
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var interval = Stopwatch.Frequency / rate;
        var start = Stopwatch.GetTimestamp() + CompletionTracker.Ticks(TimeSpan.FromMilliseconds(5));

        async Task RunAsync(int index, long due)
        {
            try
            {
                await operation(index, due);
            }
            finally
            {
                if (Interlocked.Decrement(ref pending) == 0)
                {
                    finished.TrySetResult();
                }
            }
        }

        var pacer = new Thread(() =>
        {
            // Wakes about every millisecond and starts everything due by then. It never spins: a pacer that yields in a
            // loop while waiting for the next operation competes for the cores with the services it measures, at every
            // rate high enough to keep it yielding. Latency still counts from each operation's own due instant.
            var i = 0;
            while (i < total)
            {
                var now = Stopwatch.GetTimestamp();
                for (; i < total && start + (long)(i * interval) <= now; i++)
                {
                    var index = i;
                    var due = start + (long)(i * interval);
                    ThreadPool.UnsafeQueueUserWorkItem(_ => { _ = RunAsync(index, due); }, null);
                }

                if (i < total)
                {
                    Thread.Sleep(1);
                }
            }
        })
        { IsBackground = true, Name = "open-loop pacer", Priority = ThreadPriority.AboveNormal };
        pacer.Start();
        if (total == 0)
        {
            finished.TrySetResult();
        }

        await Task.Run(pacer.Join);
        var end = start + (long)(total * interval);
        await finished.Task;
        return new LoadWindow(start, end, total);
    }
}
