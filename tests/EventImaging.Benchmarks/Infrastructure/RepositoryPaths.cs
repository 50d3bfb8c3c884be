namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>Where the repository is, found from the benchmark's build output inside it.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary><c>tests/EventImaging.Benchmarks/results</c>: the report of the latest full run.</summary>
    public static string Results => Path.Combine(Root, "tests", "EventImaging.Benchmarks", "results");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EventImaging.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Run the benchmark from its build output inside the repository: EventImaging.sln was not found above it.");
    }
}
