using EventImaging.Core.Ledger;

namespace EventImaging.UnitTests.Ledger;

public sealed class StatementBatcherTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_lone_item_runs_at_once_in_a_batch_of_its_own()
    {
        var sizes = new List<int>();
        await using var batcher = new StatementBatcher<int, int>(
            (items, _) =>
            {
                lock (sizes)
                {
                    sizes.Add(items.Count);
                }

                return Task.FromResult<IReadOnlyList<int>>([.. items.Select(i => i * 10)]);
            }, maxBatch: 8);

        Assert.Equal(70, await batcher.RunAsync(7, CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal([1], sizes);
    }

    [Fact]
    public async Task Items_queued_while_a_statement_runs_share_the_next_one_and_each_caller_gets_its_own_result()
    {
        var firstRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sizes = new List<int>();
        await using var batcher = new StatementBatcher<int, string>(
            async (items, _) =>
            {
                sizes.Add(items.Count);
                if (sizes.Count == 1)
                {
                    firstRunning.SetResult();
                    await releaseFirst.Task;
                }

                return [.. items.Select(i => $"#{i}")];
            }, maxBatch: 4);

        var first = batcher.RunAsync(0, CancellationToken.None);
        await firstRunning.Task.WaitAsync(Timeout);
        var queued = Enumerable.Range(1, 6).Select(i => batcher.RunAsync(i, CancellationToken.None)).ToArray();
        releaseFirst.SetResult();

        Assert.Equal("#0", await first.WaitAsync(Timeout));
        Assert.Equal(["#1", "#2", "#3", "#4", "#5", "#6"], await Task.WhenAll(queued).WaitAsync(Timeout));
        // One alone, then the six that waited, at most four to a statement.
        Assert.Equal([1, 4, 2], sizes);
    }

    [Fact]
    public async Task A_failed_statement_fails_every_caller_of_its_batch_and_the_next_batch_runs()
    {
        var calls = 0;
        var firstRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var batcher = new StatementBatcher<int, int>(
            async (items, _) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    firstRunning.SetResult();
                    await releaseFirst.Task;
                    throw new TimeoutException("the database did not answer");
                }

                return [.. items];
            }, maxBatch: 8);

        var failed = batcher.RunAsync(1, CancellationToken.None);
        await firstRunning.Task.WaitAsync(Timeout);
        var afterwards = batcher.RunAsync(2, CancellationToken.None);
        releaseFirst.SetResult();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => failed.WaitAsync(Timeout));
        Assert.Equal("the database did not answer", error.Message);
        Assert.Equal(2, await afterwards.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_caller_that_gave_up_before_its_statement_ran_is_left_out_of_it()
    {
        var firstRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ran = new List<int>();
        await using var batcher = new StatementBatcher<int, int>(
            async (items, _) =>
            {
                ran.AddRange(items);
                if (ran.Count == 1)
                {
                    firstRunning.SetResult();
                    await releaseFirst.Task;
                }

                return [.. items];
            }, maxBatch: 8);

        var first = batcher.RunAsync(1, CancellationToken.None);
        await firstRunning.Task.WaitAsync(Timeout);
        using var giveUp = new CancellationTokenSource();
        var abandoned = batcher.RunAsync(2, giveUp.Token);
        var kept = batcher.RunAsync(3, CancellationToken.None);
        await giveUp.CancelAsync();
        releaseFirst.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(1, await first.WaitAsync(Timeout));
        Assert.Equal(3, await kept.WaitAsync(Timeout));
        Assert.Equal([1, 3], ran);
    }

    [Fact]
    public async Task Disposing_runs_what_is_queued_and_refuses_new_items()
    {
        var batcher = new StatementBatcher<int, int>((items, _) => Task.FromResult<IReadOnlyList<int>>([.. items]), maxBatch: 8);
        var queued = Enumerable.Range(0, 20).Select(i => batcher.RunAsync(i, CancellationToken.None)).ToArray();

        await batcher.DisposeAsync();

        Assert.Equal(Enumerable.Range(0, 20), await Task.WhenAll(queued).WaitAsync(Timeout));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.RunAsync(99, CancellationToken.None));
    }

    [Fact]
    public async Task An_item_the_database_refuses_fails_only_its_own_caller()
    {
        var (batches, firstRunning, releaseFirst) = (new List<int[]>(), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await using var batcher = new StatementBatcher<int, int>(
            async (items, _) =>
            {
                batches.Add([.. items]);
                if (batches.Count == 1)
                {
                    firstRunning.SetResult();
                    await releaseFirst.Task;
                }

                // Like a value too long for its column: the whole statement fails.
                return items.Any(i => i == 13) ? throw new InvalidOperationException("value too long for type character varying(32)") : [.. items.Select(i => -i)];
            }, maxBatch: 8);

        var first = batcher.RunAsync(0, CancellationToken.None);
        await firstRunning.Task.WaitAsync(Timeout);
        var queued = Enumerable.Range(11, 4).Select(i => batcher.RunAsync(i, CancellationToken.None)).ToArray();
        releaseFirst.SetResult();

        Assert.Equal(0, await first.WaitAsync(Timeout));
        var answered = await Task.WhenAll(queued[0], queued[1], queued[3]).WaitAsync(Timeout);
        Assert.Equal([-11, -12, -14], answered);
        await Assert.ThrowsAsync<InvalidOperationException>(() => queued[2].WaitAsync(Timeout));
        // The batch of four, then each of its items alone.
        Assert.Equal([[0], [11, 12, 13, 14], [11], [12], [13], [14]], batches);
    }

    [Fact]
    public async Task While_the_database_is_unreachable_a_batch_fails_at_once_without_running_each_item_again()
    {
        var (batches, firstRunning, releaseFirst) = (new List<int[]>(), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await using var batcher = new StatementBatcher<int, int>(
            async (items, _) =>
            {
                batches.Add([.. items]);
                if (batches.Count == 1)
                {
                    firstRunning.SetResult();
                    await releaseFirst.Task;
                }

                throw new TimeoutException("the database did not answer");
            }, maxBatch: 8);

        var first = batcher.RunAsync(0, CancellationToken.None);
        await firstRunning.Task.WaitAsync(Timeout);
        var queued = Enumerable.Range(1, 5).Select(i => batcher.RunAsync(i, CancellationToken.None)).ToArray();
        releaseFirst.SetResult();

        await Assert.ThrowsAsync<TimeoutException>(() => first.WaitAsync(Timeout));
        foreach (var caller in queued)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => caller.WaitAsync(Timeout));
        }

        Assert.Equal([[0], [1, 2, 3, 4, 5]], batches);
    }
}
