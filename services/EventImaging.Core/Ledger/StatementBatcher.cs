using System.Threading.Channels;

namespace EventImaging.Core.Ledger;

/// <summary>
/// Group commit for one kind of ledger statement. Each caller hands in one item and awaits its own result; one
/// writer loop takes whatever has queued up meanwhile (up to <paramref name="maxBatch"/> items) and runs it as one
/// statement. Under light load a batch holds a single item and runs at once, so nothing waits for a timer; under
/// heavy load the next batch gathers while a statement runs, so one round trip and one commit serve many callers,
/// and a caller waits at most one statement longer. When a statement of several items fails, each item runs again alone,
/// so a caller gets its own answer or its own exception, as if it had run alone: one item the database refuses does not
/// fail the others. While the database is unreachable (<see cref="LedgerFaults.IsUnavailable"/>) every caller of the
/// batch gets that exception at once, as each would alone.
/// </summary>
/// <param name="execute">Runs one batch; returns one result per item, in the items' order.</param>
internal sealed class StatementBatcher<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> execute;
    private readonly int maxBatch;
    private readonly Task writer;

    public StatementBatcher(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> execute, int maxBatch)
    {
        this.execute = execute;
        this.maxBatch = maxBatch;
        // The loop serves every caller: it must not inherit the creator's span or log scope.
        using (ExecutionContext.SuppressFlow())
        {
            writer = Task.Run(WriteAsync);
        }
    }

    public Task<TResult> RunAsync(TItem item, CancellationToken cancellationToken)
    {
        var pending = new Pending(item, cancellationToken);
        if (!queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(StatementBatcher<TItem, TResult>), "The ledger is shutting down.");
        }

        return pending.Result.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        // Items already queued still run: their callers are waiting for them.
        queue.Writer.TryComplete();
        await writer;
    }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(maxBatch);
        var items = new List<TItem>(maxBatch);
        while (await queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            items.Clear();
            while (batch.Count < maxBatch && queue.Reader.TryRead(out var pending))
            {
                // A caller that gave up before its statement ran is left out of it.
                if (!pending.CancellationToken.IsCancellationRequested)
                {
                    batch.Add(pending);
                    items.Add(pending.Item);
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                var results = await execute(items, CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Result.TrySetResult(results[i]);
                }
            }
            catch (Exception ex) when (batch.Count == 1 || LedgerFaults.IsUnavailable(ex))
            {
                foreach (var pending in batch)
                {
                    pending.Result.TrySetException(ex);
                }
            }
            catch (Exception)
            {
                await RunEachAloneAsync(batch);
            }
        }
    }

    private async Task RunEachAloneAsync(List<Pending> batch)
    {
        foreach (var pending in batch)
        {
            try
            {
                pending.Result.TrySetResult((await execute([pending.Item], CancellationToken.None))[0]);
            }
            catch (Exception ex)
            {
                pending.Result.TrySetException(ex);
            }
        }
    }

    private sealed record Pending(TItem Item, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<TResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
