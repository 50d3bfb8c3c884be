using System.Globalization;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>CPU seconds spent, by whom, between two readings of /proc.</summary>
internal sealed record CpuUse(double Service, double Postgres, double RabbitMq, double Benchmark, double Machine)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"service {Service:F0}, postgres {Postgres:F0}, rabbitmq {RabbitMq:F0}, benchmark {Benchmark:F0}, machine {Machine:F0}");

    /// <summary>Microseconds of CPU per operation, for <paramref name="operations"/> operations.</summary>
    public CpuUse PerOperation(int operations) => operations <= 0
        ? new CpuUse(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN)
        : new CpuUse(Service / operations * 1e6, Postgres / operations * 1e6, RabbitMq / operations * 1e6, Benchmark / operations * 1e6, Machine / operations * 1e6);
}

/// <summary>
/// Reads CPU time from /proc: one service process, every PostgreSQL and RabbitMQ (beam.smp) process, this
/// benchmark, and the whole machine (busy time of all cores, which includes anything else running).
/// </summary>
internal sealed class CpuMeter(int? servicePid)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    private readonly CpuUse start = Read(servicePid);

    public CpuUse Elapsed()
    {
        var now = Read(servicePid);
        return new CpuUse(now.Service - start.Service, now.Postgres - start.Postgres, now.RabbitMq - start.RabbitMq, now.Benchmark - start.Benchmark, now.Machine - start.Machine);
    }

    private static CpuUse Read(int? servicePid)
    {
        double postgres = 0, rabbit = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            switch (Command(pid))
            {
                // A PostgreSQL backend (or a RabbitMQ helper) that ends during a measurement takes its CPU time out of
                // the live processes' sum; once reaped, that time is in its parent's children's time, so the sum stays whole.
                case "postgres":
                    postgres += ProcessSeconds(pid, withReapedChildren: true);
                    break;
                case "beam.smp":
                    rabbit += ProcessSeconds(pid, withReapedChildren: true);
                    break;
            }
        }

        return new CpuUse(servicePid is { } service ? ProcessSeconds(service) : 0, postgres, rabbit, ProcessSeconds(Environment.ProcessId), MachineBusySeconds());
    }

    /// <summary>
    /// CPU seconds of one more process, read alone: <paramref name="pid"/>, or, given a fragment of a command line
    /// (<c>s3rver.js</c>), every process whose command line holds it.
    /// </summary>
    public static double SecondsOf(int? pid, string? commandLine = null)
    {
        if (pid is { } id)
        {
            return ProcessSeconds(id);
        }

        var seconds = 0.0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var other) && commandLine is not null && CommandLine(other)?.Contains(commandLine, StringComparison.Ordinal) == true)
            {
                seconds += ProcessSeconds(other);
            }
        }

        return seconds;
    }

    private static string? CommandLine(int pid) => ReadOrNull($"/proc/{pid}/cmdline")?.Replace('\0', ' ');

    private static string? Command(int pid) => ReadOrNull($"/proc/{pid}/comm")?.Trim();

    /// <summary>
    /// CPU seconds of each tiered-compilation worker thread of <paramref name="pid"/> (threads named
    /// <c>.NET Tiered Compilation Worker</c>, cut to 15 characters by the kernel): the background JIT that recompiles
    /// hot methods optimised. While it is busy, the service's CPU per operation is still falling.
    /// </summary>
    /// <remarks>
    /// By thread id: the runtime ends its worker after a few idle seconds and starts another when there is work, and
    /// an ended thread's time leaves <c>/proc/pid/task</c> with it.
    /// </remarks>
    public static Dictionary<int, double> TieredCompilationThreads(int pid)
    {
        var threads = new Dictionary<int, double>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (int.TryParse(Path.GetFileName(task), out var tid)
                    && ReadOrNull(Path.Combine(task, "comm"))?.StartsWith(".NET Tiered Com", StringComparison.Ordinal) == true)
                {
                    threads[tid] = StatSeconds(Path.Combine(task, "stat"));
                }
            }
        }
        catch (IOException)
        {
            // The process has ended (DirectoryNotFoundException is one).
        }

        return threads;
    }

    /// <summary>
    /// utime + stime of a process (fields 14 and 15 of /proc/pid/stat, after the command in parentheses), and with
    /// <paramref name="withReapedChildren"/> cutime + cstime (16 and 17): the time of its children that have ended.
    /// Not for this benchmark, whose ended children are the service processes counted on their own.
    /// </summary>
    private static double ProcessSeconds(int pid, bool withReapedChildren = false) => StatSeconds($"/proc/{pid}/stat", withReapedChildren);

    private static double StatSeconds(string statPath, bool withReapedChildren = false)
    {
        if (ReadOrNull(statPath) is not { } stat)
        {
            return 0;
        }

        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        if (withReapedChildren)
        {
            ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        }

        return ticks / TicksPerSecond;
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>All cores' busy time: the first line of /proc/stat less idle and iowait.</summary>
    private static double MachineBusySeconds()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var idle = fields[3] + fields[4];
        // user nice system idle iowait irq softirq steal (guest time is already in user)
        return (fields.Take(8).Sum() - idle) / TicksPerSecond;
    }
}
