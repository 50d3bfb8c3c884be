using System.Diagnostics.Metrics;
using System.Globalization;

namespace EventImaging.Benchmarks.Ledger;

/// <summary>How many callers each group-committed statement served, per statement, from one host's meters.</summary>
internal sealed class BatchSizeListener : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly Dictionary<string, (long Statements, long Rows)> seen = [];

    public BatchSizeListener(IMeterFactory meters)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "eventimaging.ledger.batch.size" && instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, rows, tags, _) =>
        {
            var statement = "?";
            foreach (var tag in tags)
            {
                if (tag.Key == "statement")
                {
                    statement = tag.Value as string ?? "?";
                }
            }

            lock (seen)
            {
                var (statements, total) = seen.GetValueOrDefault(statement);
                seen[statement] = (statements + 1, total + rows);
            }
        });
        listener.Start();
    }

    /// <summary>"read 12.3 rows a statement (4,567 statements), …".</summary>
    public override string ToString()
    {
        lock (seen)
        {
            return string.Join(", ", seen.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => string.Create(
                CultureInfo.InvariantCulture,
                $"{p.Key} {(double)p.Value.Rows / p.Value.Statements:F1} rows a statement ({p.Value.Statements:N0} statements)")));
        }
    }

    public void Dispose() => listener.Dispose();
}
