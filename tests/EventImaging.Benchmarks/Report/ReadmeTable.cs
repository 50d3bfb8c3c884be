using System.Globalization;
using EventImaging.Benchmarks.Infrastructure;

namespace EventImaging.Benchmarks.Report;

/// <summary>
/// The README's Performance table: the committed report's targets, written between two markers in README.md, so
/// the README states what the report measured and nothing else.
/// </summary>
internal static class ReadmeTable
{
    public const string Begin = "<!-- benchmark-targets:begin (written by the benchmark from results/latest.json) -->";
    public const string End = "<!-- benchmark-targets:end -->";

    public static void Write(BenchReport report)
    {
        var readme = Path.Combine(RepositoryPaths.Root, "README.md");
        var text = File.ReadAllText(readme);
        var (begin, end) = (text.IndexOf(Begin, StringComparison.Ordinal), text.IndexOf(End, StringComparison.Ordinal));
        if (begin < 0 || end < begin)
        {
            Console.Error.WriteLine($"README.md has no {Begin} … {End} block: its Performance table was not written.");
            return;
        }

        var machine = report.Machine is { } m ? $", {m.Cores} cores ({m.Cpu}), {m.Os}" : "";
        var block = string.Create(CultureInfo.InvariantCulture,
            $"{Begin}\n{(report.Quick ? "Quick" : "Full")} run of {report.StartedAt:yyyy-MM-dd HH:mm} UTC{machine}, {report.DurationSeconds:F0} s; "
            + $"every figure in [the report](tests/EventImaging.Benchmarks/results/latest.md).\n\n{ReportWriter.TargetsTable(report)}");
        File.WriteAllText(readme, text[..begin] + block + text[end..]);
    }
}
