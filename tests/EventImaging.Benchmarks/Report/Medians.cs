namespace EventImaging.Benchmarks.Report;

/// <summary>The median of the comparisons' rounds: the lower of the middle two for an even count, so always one that was measured.</summary>
internal static class Medians
{
    public static T Of<T>(IEnumerable<T> items, Func<T, double> key)
    {
        var ordered = items.OrderBy(key).ToList();
        return ordered[(ordered.Count - 1) / 2];
    }

    public static double Of(IEnumerable<double> values) => Of(values, v => v);
}
