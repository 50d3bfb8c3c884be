namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>Resident memory of a process, as the kernel reports it in <c>/proc/{pid}/status</c>.</summary>
internal static class ProcessMemory
{
    /// <summary>VmRSS in MB (10^6 bytes), or null when the process is gone.</summary>
    public static double? RssMB(int pid) => Field(pid, "VmRSS:");

    /// <summary>VmHWM (the peak resident set) in MB, or null when the process is gone.</summary>
    public static double? PeakRssMB(int pid) => Field(pid, "VmHWM:");

    /// <summary>
    /// What the resident set is made of, in MB: anonymous memory (GC heap, native heaps, thread stacks), file-backed
    /// pages (the runtime, framework and package assemblies and native libraries), and shared memory. With W^X on,
    /// .NET reserves its executable memory through a memfd mapped twice (<c>doublemapper</c>): the executable view
    /// holds JIT-compiled code and stubs, the writable view the loader heaps (type system data: method tables, ...)
    /// and the code being written; both are counted as shared memory. Then the proportional set size (file pages
    /// shared with other processes, such as other .NET processes' framework assemblies, counted in part) and the
    /// number of threads.
    /// </summary>
    public static string Breakdown(int pid)
    {
        var (code, data) = DoubleMapped(pid);
        return string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"anon {Field(pid, "RssAnon:"):F0} + file {Field(pid, "RssFile:"):F0} + shmem {Field(pid, "RssShmem:"):F0} (code {code:F0}, runtime data {data:F0}); PSS {Pss(pid):F0}; {Number(pid, "Threads:")} threads");
    }

    /// <summary>The proportional set size in MB, from <c>/proc/{pid}/smaps_rollup</c>, or null.</summary>
    private static double? Pss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/smaps_rollup").FirstOrDefault(l => l.StartsWith("Pss:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line["Pss:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024 / 1e6;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Resident MB of the runtime's double-mapped memfd: its executable and its writable mappings.</summary>
    private static (double? Code, double? Data) DoubleMapped(int pid)
    {
        try
        {
            long code = 0, data = 0;
            var executable = false;
            var doubleMapped = false;
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
            {
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 5 && parts[0].Contains('-', StringComparison.Ordinal) && parts[1].Length == 4)
                {
                    // "7f6d5c800000-7f6d5cc01000 r-xs 00000000 00:01 1234   /memfd:doublemapper (deleted)"
                    executable = parts[1][2] == 'x';
                    doubleMapped = parts.Length == 6 && parts[5].Contains("doublemapper", StringComparison.Ordinal);
                }
                else if (doubleMapped && parts.Length >= 2 && parts[0] == "Rss:")
                {
                    var kilobytes = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                    if (executable)
                    {
                        code += kilobytes;
                    }
                    else
                    {
                        data += kilobytes;
                    }
                }
            }

            return (code * 1024 / 1e6, data * 1024 / 1e6);
        }
        catch (IOException)
        {
            return (null, null);
        }
        catch (UnauthorizedAccessException)
        {
            return (null, null);
        }
    }

    /// <summary>A field of <c>/proc/{pid}/status</c> given in kB, in MB (10^6 bytes).</summary>
    private static double? Field(int pid, string name) =>
        // The kernel's kB are KiB.
        Number(pid, name) is { } kilobytes ? kilobytes * 1024 / 1e6 : null;

    /// <summary>The number a field of <c>/proc/{pid}/status</c> starts with ("VmRSS:	  123456 kB"), or null.</summary>
    private static long? Number(int pid, string name)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    return long.Parse(line[name.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
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
internal sealed class RssSampler(int pid) : PeakSampler(() => ProcessMemory.RssMB(pid));

/// <summary>Samples a figure in MB (a process's resident memory, a cgroup's usage) every 200 ms until disposed.</summary>
internal class PeakSampler : IAsyncDisposable
{
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(200);

    private readonly List<double> samples = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task sampling;

    public PeakSampler(Func<double?> read)
    {
        sampling = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(Every);
            do
            {
                if (read() is { } value)
                {
                    lock (samples)
                    {
                        samples.Add(value);
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
