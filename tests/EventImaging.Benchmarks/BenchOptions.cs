namespace EventImaging.Benchmarks;

/// <summary>
/// Command line: <c>--quick</c> for a smoke run; <c>--only a,b</c> to run some sections (baseline, callbacks, archiving,
/// submission, polling, memory, micro); <c>--render report.json</c> to write latest.md and the chart again from a saved report;
/// <c>--results dir</c> to write the report to another directory than <c>tests/EventImaging.Benchmarks/results</c> (test.sh's quick run does).
/// </summary>
internal sealed record BenchOptions(bool Quick, IReadOnlySet<string> Sections, string? Render = null, string? ResultsDirectory = null)
{
    private static string Usage => $"[--quick] [--only {string.Join(",", AllSections)}] [--render report.json] [--results dir]";

    /// <summary>Where the report goes: <c>--results</c>, or <c>tests/EventImaging.Benchmarks/results</c> in the repository.</summary>
    public string Results => ResultsDirectory ?? Infrastructure.RepositoryPaths.Results;

    public static readonly string[] AllSections = ["baseline", "callbacks", "archiving", "submission", "polling", "memory", "micro"];

    public bool Runs(string section) => Sections.Contains(section);

    /// <summary>A measurement's duration: its full length, or a third of it (at least a second) with --quick.</summary>
    public TimeSpan Duration(double seconds) => TimeSpan.FromSeconds(Quick ? Math.Max(1, seconds / 3) : seconds);

    public static BenchOptions Parse(string[] args)
    {
        var quick = false;
        string? render = null;
        string? results = null;
        IReadOnlySet<string> sections = new HashSet<string>(AllSections);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--render" when i + 1 < args.Length:
                    render = Path.GetFullPath(args[++i]);
                    break;
                case "--results" when i + 1 < args.Length:
                    results = Path.GetFullPath(args[++i]);
                    break;
                case "--only" when i + 1 < args.Length:
                    sections = new HashSet<string>(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    var unknown = sections.Except(AllSections).ToArray();
                    if (unknown.Length > 0)
                    {
                        throw new ArgumentException($"Unknown section(s) {string.Join(", ", unknown)}; known: {string.Join(", ", AllSections)}.");
                    }

                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: {Usage}");
            }
        }

        return new BenchOptions(quick, sections, render, results);
    }
}
