namespace EventImaging.Benchmarks;

/// <summary>
/// Command line: <c>--quick</c> for a smoke run; <c>--only a,b</c> to run some sections (baseline, callbacks, archiving,
/// submission, polling, memory, micro; and the optional composition); <c>--render report.json</c> to write latest.md and the chart again from a saved report;
/// <c>--results dir</c> to write the report to another directory than <c>tests/EventImaging.Benchmarks/results</c> (test.sh's quick run does).
/// </summary>
internal sealed record BenchOptions(bool Quick, IReadOnlySet<string> Sections, string? Render = null, string? ResultsDirectory = null)
{
    private static string Usage => $"[--quick] [--only {string.Join(",", Known)}] [--render report.json] [--results dir]";

    /// <summary>Where the report goes: <c>--results</c>, or <c>tests/EventImaging.Benchmarks/results</c> in the repository.</summary>
    public string Results => ResultsDirectory ?? Infrastructure.RepositoryPaths.Results;

    /// <summary>The full run's sections.</summary>
    public static readonly string[] AllSections = ["baseline", "callbacks", "archiving", "submission", "polling", "memory", "micro"];

    /// <summary>Sections run only when named with <c>--only</c>: measurements that explain a figure, not targets (composition: within the callback section).</summary>
    public static readonly string[] OptionalSections = ["composition"];

    private static string[] Known => [.. AllSections, .. OptionalSections];

    /// <summary>Every section of the full run is in this one (optional ones may be too).</summary>
    public bool IsFullRun => AllSections.All(Runs);

    public bool Runs(string section) => Sections.Contains(section);

    /// <summary>A measurement's duration: its full length, or a third of it (at least a second) with --quick.</summary>
    public TimeSpan Duration(double seconds) => TimeSpan.FromSeconds(Quick ? Math.Max(1, seconds / 3) : seconds);

    public static BenchOptions Parse(string[] args)
    {
        var quick = false;
        string? render = null;
        string? results = null;
        var sections = new HashSet<string>(AllSections);
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
                    var unknown = sections.Except(Known).ToArray();
                    if (unknown.Length > 0)
                    {
                        throw new ArgumentException($"Unknown section(s) {string.Join(", ", unknown)}; known: {string.Join(", ", Known)}.");
                    }

                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: {Usage}");
            }
        }

        if (sections.Contains("composition") && !(sections.Contains("callbacks") && sections.Contains("baseline")))
        {
            throw new ArgumentException("The composition is measured in the callback section's rounds: --only baseline,callbacks,composition.");
        }

        return new BenchOptions(quick, sections, render, results);
    }
}
