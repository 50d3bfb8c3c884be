using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>
/// A copy of the .NET host, the shared frameworks and a service's build output that no other process maps, whose
/// pages are dropped from the page cache before each start (<see cref="DropCache"/>). A page of the page cache is
/// charged to the cgroup of the process that first reads it, and the framework's files are read, long before, by
/// this benchmark (itself a .NET process) and every earlier service: run from them, a service in a memory cgroup would
/// be charged for none of its code, some 75 MB that a container, reading its image's own files, is charged for.
/// </summary>
internal sealed partial class PrivateRuntime : IDisposable
{
    private const int DontNeed = 4; // POSIX_FADV_DONTNEED

    private readonly string root;

    private PrivateRuntime(string root, string muxer)
    {
        this.root = root;
        Muxer = muxer;
    }

    /// <summary>The copy's <c>dotnet</c>: it finds the copied host and frameworks beside it.</summary>
    public string Muxer { get; }

    /// <summary>
    /// Copies the host (<c>dotnet</c>, <c>host/fxr</c>) and the frameworks this process runs on (the services roll
    /// forward to the same patch) into a new temporary directory.
    /// </summary>
    public static PrivateRuntime Create()
    {
        var core = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
        var aspNetCore = Path.GetDirectoryName(typeof(Microsoft.AspNetCore.Builder.WebApplication).Assembly.Location)!;
        var dotnetRoot = Path.GetFullPath(Path.Combine(core, "..", "..", ".."));
        var root = Directory.CreateTempSubdirectory("eventimaging-bench-runtime-").FullName;
        var runtime = new PrivateRuntime(root, Path.Combine(root, "dotnet", "dotnet"));
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(runtime.Muxer)!);
            File.Copy(Path.Combine(dotnetRoot, "dotnet"), runtime.Muxer);
            foreach (var directory in new[] { Path.Combine(dotnetRoot, "host"), core, aspNetCore })
            {
                CopyDirectory(directory, Path.Combine(root, "dotnet", Path.GetRelativePath(dotnetRoot, directory)));
            }
        }
        catch
        {
            runtime.Dispose();
            throw;
        }

        return runtime;
    }

    /// <summary>Copies a service's build output beside the frameworks; returns the copied assembly.</summary>
    public string CopyApp(string assembly)
    {
        var name = Path.GetFileNameWithoutExtension(assembly);
        var target = Path.Combine(root, "apps", name);
        if (!Directory.Exists(target))
        {
            CopyDirectory(Path.GetDirectoryName(assembly)!, target);
        }

        return Path.Combine(target, Path.GetFileName(assembly));
    }

    /// <summary>
    /// Writes every copied file out and drops its pages from the page cache, so that the next process reads them
    /// afresh; a file another process still maps keeps its mapped pages.
    /// </summary>
    public void DropCache()
    {
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.FlushToDisk(handle);
            _ = Advise(handle, 0, 0, DontNeed);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            // File.Copy keeps the mode (the muxer's execute bit) on Unix.
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int Advise(SafeFileHandle file, long offset, long length, int advice);

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"Could not remove {root}: {ex.Message}");
        }
    }
}
