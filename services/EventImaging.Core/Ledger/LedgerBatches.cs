using EventImaging.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace EventImaging.Core.Ledger;

/// <summary>
/// The ledger statements of the callback path, group-committed (see <see cref="StatementBatcher{TItem,TResult}"/>):
/// reading the row a callback names, its terminal transition, and marking its event published. Each is the same
/// statement and the same compare-and-set as <see cref="RequestLedger"/>'s own, run for all callers waiting at once.
/// </summary>
public sealed class LedgerBatches : IAsyncDisposable
{
    /// <summary>Rows per statement: enough to amortise a round trip and a commit, small enough to keep a batch under a millisecond or two.</summary>
    private const int MaxBatch = 128;

    private readonly IServiceScopeFactory scopes;
    private readonly RequestMetrics metrics;
    private readonly StatementBatcher<Guid, ImageRequest?> reads;
    private readonly StatementBatcher<FinishRequest, bool> finishes;
    private readonly StatementBatcher<Guid, bool> marks;

    public LedgerBatches(IServiceScopeFactory scopes, RequestMetrics metrics)
    {
        this.scopes = scopes;
        this.metrics = metrics;
        reads = new(ReadAsync, MaxBatch);
        finishes = new(FinishAsync, MaxBatch);
        marks = new(MarkAsync, MaxBatch);
    }

    /// <summary>The request's row, or null when there is none.</summary>
    public Task<ImageRequest?> FindAsync(Guid requestId, CancellationToken cancellationToken) =>
        reads.RunAsync(requestId, cancellationToken);

    /// <summary><see cref="RequestLedger.TryFinishAsync"/>, group-committed: true for the one writer that won the transition.</summary>
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

    private Task<IReadOnlyList<ImageRequest?>> ReadAsync(IReadOnlyList<Guid> requestIds, CancellationToken cancellationToken) =>
        WithLedgerAsync<IReadOnlyList<ImageRequest?>>("read", requestIds.Count, async ledger =>
        {
            var rows = (await ledger.FindManyAsync(requestIds, cancellationToken)).ToDictionary(r => r.RequestId);
            return [.. requestIds.Select(id => rows.GetValueOrDefault(id))];
        });

    private Task<IReadOnlyList<bool>> FinishAsync(IReadOnlyList<FinishRequest> requests, CancellationToken cancellationToken) =>
        WithLedgerAsync<IReadOnlyList<bool>>("finish", requests.Count, async ledger => await ledger.TryFinishManyAsync(requests, cancellationToken));

    private Task<IReadOnlyList<bool>> MarkAsync(IReadOnlyList<Guid> requestIds, CancellationToken cancellationToken) =>
        WithLedgerAsync<IReadOnlyList<bool>>("mark", requestIds.Count, async ledger =>
        {
            await ledger.MarkEventsPublishedAsync(requestIds, cancellationToken);
            return [.. requestIds.Select(_ => true)];
        });

    private async Task<T> WithLedgerAsync<T>(string statement, int rows, Func<RequestLedger, Task<T>> work)
    {
        metrics.LedgerBatch(statement, rows);
        await using var scope = scopes.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<RequestLedger>());
    }
}
