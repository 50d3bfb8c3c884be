using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;

namespace EventImaging.Core.Outbox;

/// <summary>
/// The ledger statements of the callback path, group-committed (see <see cref="StatementBatcher{TItem,TResult}"/>):
/// reading the row a callback names, its terminal transition, and marking its event published. Each is the same
/// statement and the same compare-and-set as run for one row, run for all callers waiting at once.
/// </summary>
public sealed class LedgerBatches : IAsyncDisposable
{
    /// <summary>Rows per statement: enough to amortise a round trip and a commit, small enough to keep a batch short.</summary>
    private const int MaxBatch = 128;

    private readonly RequestMetrics metrics;
    private readonly StatementBatcher<Guid, ImageRequest?> reads;
    private readonly StatementBatcher<FinishRequest, bool> finishes;
    private readonly StatementBatcher<Guid, bool> marks;

    public LedgerBatches(RequestRows rows, TerminalRows terminal, OutboxRows outbox, RequestMetrics metrics)
    {
        this.metrics = metrics;
        reads = new((ids, ct) => ReadAsync(rows, ids, ct), MaxBatch);
        finishes = new((requests, ct) => FinishAsync(terminal, requests, ct), MaxBatch);
        marks = new((ids, ct) => MarkAsync(outbox, ids, ct), MaxBatch);
    }

    /// <summary>The request's row, or null when there is none.</summary>
    public Task<ImageRequest?> FindAsync(Guid requestId, CancellationToken cancellationToken) =>
        reads.RunAsync(requestId, cancellationToken);

    /// <summary><see cref="TerminalRows.TryFinishAsync"/>, group-committed: true for the one writer that won the transition.</summary>
    public async Task<bool> TryFinishAsync(Guid requestId, TerminalOutcome outcome, string? expectedTaskId, CancellationToken cancellationToken)
    {
        using var span = RequestTracing.StartTransition(requestId, outcome.State);
        return span.Won(await finishes.RunAsync(new FinishRequest(requestId, outcome, expectedTaskId), cancellationToken));
    }

    /// <summary>Records that the row's event reached the broker.</summary>
    public Task MarkEventPublishedAsync(Guid requestId, CancellationToken cancellationToken) =>
        marks.RunAsync(requestId, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await reads.DisposeAsync();
        await finishes.DisposeAsync();
        await marks.DisposeAsync();
    }

    private async Task<IReadOnlyList<ImageRequest?>> ReadAsync(RequestRows rows, IReadOnlyList<Guid> requestIds, CancellationToken cancellationToken)
    {
        metrics.LedgerBatch("read", requestIds.Count);
        var found = (await rows.FindManyAsync(requestIds, cancellationToken)).ToDictionary(r => r.RequestId);
        return [.. requestIds.Select(id => found.GetValueOrDefault(id))];
    }

    private async Task<IReadOnlyList<bool>> FinishAsync(TerminalRows terminal, IReadOnlyList<FinishRequest> requests, CancellationToken cancellationToken)
    {
        metrics.LedgerBatch("finish", requests.Count);
        return await terminal.TryFinishManyAsync(requests, cancellationToken);
    }

    private async Task<IReadOnlyList<bool>> MarkAsync(OutboxRows outbox, IReadOnlyList<Guid> requestIds, CancellationToken cancellationToken)
    {
        metrics.LedgerBatch("mark", requestIds.Count);
        await outbox.MarkEventsPublishedAsync(requestIds, cancellationToken);
        return [.. requestIds.Select(_ => true)];
    }
}
