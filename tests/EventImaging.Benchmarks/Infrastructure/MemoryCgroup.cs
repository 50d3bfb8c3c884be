using System.Globalization;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>
/// A memory cgroup of one service process, created as a child of the benchmark's own (cgroup v1's memory controller,
/// or the unified cgroup v2 hierarchy), with or without a limit, and removed on dispose. The process must start inside
/// it (<see cref="Launcher"/>): the .NET runtime sizes its GC heap from the limit it finds at start-up, so moving a
/// running process in would measure a runtime that does not know its limit.
/// </summary>
internal sealed class MemoryCgroup : IDisposable
{
    private readonly string path;
    private readonly bool unified;

    private MemoryCgroup(string path, bool unified)
    {
        this.path = path;
        this.unified = unified;
    }

    /// <summary>Which kind of cgroup, for the report (the path stays on the console: it names the machine's layout).</summary>
    public string Description => unified ? "cgroup v2, a child of the benchmark's own" : "cgroup v1 memory controller, a child of the benchmark's own";

    /// <summary>The cgroup's directory.</summary>
    public string Location => path;

    /// <summary>
    /// A command that joins this cgroup and runs an assembly with <paramref name="dotnet"/>: the shell writes its own
    /// pid into <c>cgroup.procs</c> and is replaced by the runtime, which so starts inside.
    /// </summary>
    public IReadOnlyList<string> Launcher(string dotnet) => ["/bin/sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", path, dotnet];

    /// <summary>Memory charged to the cgroup now, in MB (10^6 bytes): anonymous memory and the page cache its processes brought in.</summary>
    public double? UsageMB => Megabytes(unified ? "memory.current" : "memory.usage_in_bytes");

    /// <summary>The highest usage since the cgroup was created, as the kernel kept it (null where v2 has no <c>memory.peak</c>).</summary>
    public double? PeakMB => Megabytes(unified ? "memory.peak" : "memory.max_usage_in_bytes");

    /// <summary>Processes the kernel's OOM killer ended in this cgroup (null on kernels that do not count them).</summary>
    public int? OomKills => Counter(unified ? "memory.events" : "memory.oom_control", "oom_kill") is { } kills ? (int)kills : null;

    /// <summary>
    /// The usage less the page cache the kernel would reclaim first (inactive files), in MB: what the kubelet reports
    /// as a container's working set, and decides evictions on.
    /// </summary>
    public double? WorkingSetMB => UsageMB is { } usage && Counter("memory.stat", unified ? "inactive_file" : "total_inactive_file") is { } inactive
        ? usage - inactive / 1e6
        : null;

    /// <summary>
    /// Pages its processes had to read back from disk: in a limit too tight, the code the kernel took away to make
    /// room and the process needed again.
    /// </summary>
    public long? MajorFaults => Counter("memory.stat", "pgmajfault");

    /// <summary>
    /// Creates <paramref name="name"/> under the benchmark's own memory cgroup, limited to <paramref name="limitBytes"/>
    /// (swap included, so that swapping cannot hide the limit), or unlimited when it is null.
    /// </summary>
    /// <exception cref="CgroupUnavailableException">No writable memory cgroup: why.</exception>
    public static MemoryCgroup Create(string name, long? limitBytes)
    {
        var (parent, unified) = Own();
        var path = Path.Combine(parent, name);
        try
        {
            if (unified)
            {
                EnableMemoryController(parent);
            }

            Directory.CreateDirectory(path);
            var cgroup = new MemoryCgroup(path, unified);
            try
            {
                cgroup.Limit(limitBytes);
            }
            catch
            {
                cgroup.Dispose();
                throw;
            }

            return cgroup;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CgroupUnavailableException($"cannot create a memory cgroup under {parent}: {ex.Message}", ex);
        }
    }

    private void Limit(long? limitBytes)
    {
        var limit = limitBytes?.ToString(CultureInfo.InvariantCulture);
        if (unified)
        {
            Write("memory.max", limit ?? "max");
            if (limit is not null && File.Exists(Path.Combine(path, "memory.swap.max")))
            {
                Write("memory.swap.max", "0");
            }
        }
        else if (limit is not null)
        {
            // memory+swap may never be below memory alone: the memory limit goes first.
            Write("memory.limit_in_bytes", limit);
            if (File.Exists(Path.Combine(path, "memory.memsw.limit_in_bytes")))
            {
                Write("memory.memsw.limit_in_bytes", limit);
            }
        }
    }

    /// <summary>
    /// On cgroup v2 a child gets the memory controller only if its parent hands it down, and a cgroup that holds
    /// processes itself (other than the root) may not: then this fails with the kernel's answer (busy).
    /// </summary>
    private static void EnableMemoryController(string parent)
    {
        var control = Path.Combine(parent, "cgroup.subtree_control");
        if (!File.ReadAllText(control).Split(' ', StringSplitOptions.TrimEntries).Contains("memory"))
        {
            try
            {
                File.WriteAllText(control, "+memory");
            }
            catch (IOException ex)
            {
                throw new IOException($"{control} does not hand the memory controller down and cannot ({ex.Message}); run the benchmark in a cgroup of its own with the memory controller delegated", ex);
            }
        }
    }

    /// <summary>
    /// The benchmark's own memory cgroup directory: from <c>/proc/self/cgroup</c> (v1's <c>N:memory:/path</c>, else
    /// v2's <c>0::/path</c>) under the matching mount of <c>/proc/self/mountinfo</c>.
    /// </summary>
    private static (string Path, bool Unified) Own()
    {
        string[] memberships, mounts;
        try
        {
            memberships = File.ReadAllLines("/proc/self/cgroup");
            mounts = File.ReadAllLines("/proc/self/mountinfo");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CgroupUnavailableException($"no cgroups here ({ex.Message})", ex);
        }

        var v1 = memberships.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("memory"));
        var v2 = memberships.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[0] == "0" && p[1].Length == 0);
        if (v1 is not null && Mount(mounts, "cgroup", "memory") is { } v1Mount)
        {
            return (Under(v1Mount, v1[2]), false);
        }

        if (v2 is not null && Mount(mounts, "cgroup2", null) is { } v2Mount
            && File.Exists(Path.Combine(v2Mount.Point, "cgroup.controllers"))
            && File.ReadAllText(Path.Combine(v2Mount.Point, "cgroup.controllers")).Split(' ', StringSplitOptions.TrimEntries).Contains("memory"))
        {
            return (Under(v2Mount, v2[2]), true);
        }

        throw new CgroupUnavailableException("no memory cgroup: neither cgroup v1's memory controller nor cgroup v2 with the memory controller is mounted");
    }

    /// <summary>A cgroup's directory: its path, relative to the mount's root, under the mount point.</summary>
    private static string Under((string Root, string Point) mount, string cgroup)
    {
        var relative = cgroup.StartsWith(mount.Root, StringComparison.Ordinal) ? cgroup[mount.Root.Length..] : cgroup;
        return Path.Combine(mount.Point, relative.TrimStart('/'));
    }

    /// <summary>
    /// The root and mount point of the first mount of <paramref name="type"/> (with <paramref name="option"/> among its
    /// super options). A line: <c>36 35 0:30 / /sys/fs/cgroup/memory rw,… shared:15 - cgroup cgroup rw,memory</c>.
    /// </summary>
    private static (string Root, string Point)? Mount(string[] mounts, string type, string? option)
    {
        foreach (var line in mounts)
        {
            var halves = line.Split(" - ", 2);
            var before = halves[0].Split(' ');
            var after = halves.Length == 2 ? halves[1].Split(' ') : [];
            if (before.Length >= 5 && after.Length >= 3 && after[0] == type && (option is null || after[2].Split(',').Contains(option)))
            {
                return (before[3], before[4]);
            }
        }

        return null;
    }

    private void Write(string file, string value) => File.WriteAllText(Path.Combine(path, file), value);

    private double? Megabytes(string file) => Number(file) is { } bytes ? bytes / 1e6 : null;

    private long? Number(string file)
    {
        try
        {
            return long.TryParse(File.ReadAllText(Path.Combine(path, file)).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A <c>name N</c> line of a flat keyed file (<c>memory.events</c>, <c>memory.oom_control</c>, <c>memory.stat</c>).</summary>
    private long? Counter(string file, string name)
    {
        try
        {
            return File.ReadLines(Path.Combine(path, file)).Select(l => l.Split(' ')).Where(p => p.Length == 2 && p[0] == name)
                .Select(p => (long?)long.Parse(p[1], CultureInfo.InvariantCulture)).FirstOrDefault();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Removes the cgroup; its processes must have ended (the kernel takes a moment to let go of a killed one).</summary>
    public void Dispose()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Delete(path);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(100);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"Could not remove the cgroup {path}: {ex.Message}");
                return;
            }
        }
    }
}

/// <summary>No memory cgroup could be made for a service: the message says why.</summary>
internal sealed class CgroupUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
