namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>Resident memory of a process, as the kernel reports it in <c>/proc/{pid}/status</c>.</summary>
internal static class ProcessMemory
{
    /// <summary>VmRSS in MB (10^6 bytes), or null when the process is gone.</summary>
    public static double? RssMB(int pid) => Field(pid, "VmRSS:");

    /// <summary>VmHWM (the peak resident set) in MB, or null when the process is gone.</summary>
    public static double? PeakRssMB(int pid) => Field(pid, "VmHWM:");

    /// <summary>
    /// What the resident set is made of, in MB: anonymous memory (GC heap, runtime data), file-backed pages (the
    /// runtime, framework and package assemblies and native libraries), and shared memory (.NET maps JIT-compiled
    /// code through a memfd when W^X is on).
    /// </summary>
    public static string Breakdown(int pid) => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"anon {Field(pid, "RssAnon:"):F0} + file {Field(pid, "RssFile:"):F0} + shmem/JIT code {Field(pid, "RssShmem:"):F0}");

    private static double? Field(int pid, string name)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    // "VmRSS:	  123456 kB"
                    var kilobytes = long.Parse(line[name.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                    // The kernel's kB are KiB.
                    return kilobytes * 1024 / 1e6;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}

/// <summary>Samples a process's VmRSS every few hundred milliseconds until disposed.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(200);

    private readonly List<double> samples = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task sampling;

    public RssSampler(int pid)
    {
        sampling = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(Every);
            do
            {
                if (ProcessMemory.RssMB(pid) is { } rss)
                {
                    lock (samples)
                    {
                        samples.Add(rss);
                    }
                }
            }
            while (await WaitAsync(timer));
        });
    }

    public double Max
    {
        get
        {
            lock (samples)
            {
                return samples.Count == 0 ? double.NaN : samples.Max();
            }
        }
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await sampling;
        stop.Dispose();
    }
}
