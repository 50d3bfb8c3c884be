using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>The group-committed ledger statements one host ran while this listened: how many, and how many callers they served.</summary>
public sealed class LedgerBatchSizes : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly ConcurrentDictionary<string, (int Statements, int Rows)> seen = new();

    public LedgerBatchSizes(IMeterFactory meters)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "eventimaging.ledger.batch.size" && instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, rows, tags, _) =>
            seen.AddOrUpdate(
                (string)tags.ToArray().Single(t => t.Key == "statement").Value!,
                (1, rows),
                (_, sum) => (sum.Statements + 1, sum.Rows + rows)));
        listener.Start();
    }

    /// <summary>How many statements of this kind ran.</summary>
    public int Statements(string statement) => seen.GetValueOrDefault(statement).Statements;

    /// <summary>How many callers the statements of this kind served together.</summary>
    public int Rows(string statement) => seen.GetValueOrDefault(statement).Rows;

    public void Dispose() => listener.Dispose();
}
