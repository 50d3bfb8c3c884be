using System.Threading.Channels;
using EventImaging.Core.Requests;
using EventImaging.Core.Telemetry;

namespace EventImaging.Core.History;

/// <summary>
/// Appends to a request's history without making its caller wait: an entry is stamped and queued in memory, and
/// <see cref="HistoryWriter"/> writes the queue in batches. The callback path pays an enqueue, not a statement. The
/// queue is bounded: past <see cref="Capacity"/> entries waiting (a long ledger outage), new ones are dropped and
/// counted; the history is the operators' record, the ledger row stays the source of truth.
/// </summary>
public sealed class RequestHistory(RequestMetrics metrics, TimeProvider clock)
{
    /// <summary>Entries waiting at most: at up to 512 characters each, a few MB, within any service's memory limit.</summary>
    public const int Capacity = 10_000;

    private readonly Channel<HistoryEntry> pending = Channel.CreateBounded<HistoryEntry>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    internal ChannelReader<HistoryEntry> Pending => pending.Reader;

    /// <summary>Records that <paramref name="kind"/> happened to the request now; <paramref name="detail"/> is cut to fit.</summary>
    public void Record(Guid requestId, string kind, string detail)
    {
        var entry = new HistoryEntry
        {
            RequestId = requestId,
            At = clock.GetUtcNow(),
            Kind = kind,
            Detail = CallerText.Shorten(detail, HistoryEntry.DetailLength),
        };
        if (!pending.Writer.TryWrite(entry))
        {
            metrics.HistoryDropped();
        }
    }
}
