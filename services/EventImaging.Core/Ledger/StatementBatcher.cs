using System.Threading.Channels;

namespace EventImaging.Core.Ledger;

/// <summary>
/// Group commit for one kind of ledger statement. Each caller hands in one item and awaits its own result; a few
/// writer loops take whatever has queued up meanwhile (up to <paramref name="maxBatch"/> items) and run it as one
/// statement. Under light load a batch holds a single item and runs at once, so nothing waits for a timer; under
/// heavy load one round trip and one commit serve many callers, which is where the database's CPU went before.
/// A failed statement fails every caller of its batch with the same exception, as if each had run it alone.
/// </summary>
/// <param name="execute">Runs one batch; returns one result per item, in the items' order.</param>
internal sealed class StatementBatcher<TItem, TResult>(
    Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> execute,
    int maxBatch,
    int writers)
    : IAsyncDisposable
{
    private readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = writers == 1 });
    private readonly Lock startLock = new();
    private Task[]? running;

    public Task<TResult> RunAsync(TItem item, CancellationToken cancellationToken)
    {
        EnsureStarted();
        var pending = new Pending(item, cancellationToken);
        if (!queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(StatementBatcher<TItem, TResult>), "The ledger is shutting down.");
        }

        return pending.Result.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        if (running is { } loops)
        {
            // Items already queued still run: their callers are waiting for them.
            await Task.WhenAll(loops);
        }
    }

    private void EnsureStarted()
    {
        if (Volatile.Read(ref running) is not null)
        {
            return;
        }

        lock (startLock)
        {
            if (running is null)
            {
                // The loops serve every caller: they must not inherit the first caller's span or log scope.
                using (ExecutionContext.SuppressFlow())
                {
                    Volatile.Write(ref running, [.. Enumerable.Range(0, writers).Select(_ => Task.Run(WriteAsync))]);
                }
            }
        }
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
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Result.TrySetException(ex);
                }
            }
        }
    }

    private sealed record Pending(TItem Item, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<TResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
