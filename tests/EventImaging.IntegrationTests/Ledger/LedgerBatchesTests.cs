using System.Diagnostics.Metrics;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.IntegrationTests.Infrastructure;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using static EventImaging.IntegrationTests.Ledger.RequestLedgerTests;

namespace EventImaging.IntegrationTests.Ledger;

/// <summary>
/// The group-committed statements of the callback path on real PostgreSQL: each row keeps its own compare-and-set,
/// and each caller gets its own answer. The publish lease is long here, so the outbox sweeper never touches these rows.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class LedgerBatchesTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private PipelineEnvironment env = null!;

    public async Task InitializeAsync() =>
        env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?> { ["Outbox:PublishLease"] = "00:10:00" }, output: output);

    public async Task DisposeAsync() => await env.DisposeAsync();

    [Fact]
    public async Task A_batched_finish_applies_each_row_as_its_own_compare_and_set()
    {
        var (onTask, otherTask, finished, received, missing) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        foreach (var id in new[] { onTask, otherTask, finished, received })
        {
            await InsertAsync(env, id);
        }

        await Leases(env).TryMarkSubmittedAsync(onTask, "task-1", null, CancellationToken.None);
        await Leases(env).TryMarkSubmittedAsync(otherTask, "task-1", null, CancellationToken.None);
        Assert.True(await Terminal(env).TryFinishAsync(finished, Failed(finished), null, CancellationToken.None));

        var results = await Terminal(env).TryFinishManyAsync(
            [
                new FinishRequest(onTask, Completed(onTask), "task-1"),
                new FinishRequest(otherTask, Completed(otherTask), "task-2"),
                new FinishRequest(finished, Completed(finished), null),
                new FinishRequest(received, Failed(received), "task-r"),
                new FinishRequest(missing, Completed(missing), null),
                new FinishRequest(onTask, Failed(onTask), "task-1"),
            ],
            CancellationToken.None);

        // Won; another task's callback; already terminal; a callback overtaking the submitter; no row; the same row again.
        Assert.Equal([true, false, false, true, false, false], results);
        var completed = (await env.RowAsync(onTask))!;
        Assert.Equal((RequestState.Completed, 100, "task-1", "ImageCompleted", "outbox"), (completed.State, completed.Progress, completed.ProviderTaskId, completed.EventType, completed.LeaseOwner));
        Assert.Equal(Completed(onTask).ResultUrlsJson, completed.ResultUrlsJson);
        Assert.NotNull(completed.FinishedAt);
        Assert.Null(completed.NextActionAt);
        Assert.Null(completed.EventPublishedAt);
        Assert.Equal(RequestState.Submitted, (await env.RowAsync(otherTask))!.State);
        Assert.Equal(RequestState.Failed, (await env.RowAsync(finished))!.State);
        var failed = (await env.RowAsync(received))!;
        Assert.Equal((RequestState.Failed, "task-r", FailureCodes.ProviderError, "ImageFailed"), (failed.State, failed.ProviderTaskId, failed.ErrorCode, failed.EventType));
        Assert.Equal(0, failed.Progress);
    }

    [Fact]
    public async Task Of_racing_batched_and_single_terminal_writers_exactly_one_wins()
    {
        var requestIds = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in requestIds)
        {
            await InsertAsync(env, id);
        }

        var batches = env.Receiver.Services.GetRequiredService<LedgerBatches>();
        var attempts = requestIds.SelectMany(id => Enumerable.Range(0, 6).Select(i => Task.Run(() => i % 3 == 0
            ? Terminal(env).TryFinishAsync(id, Failed(id), null, CancellationToken.None)
            : batches.TryFinishAsync(id, Completed(id), "task-1", CancellationToken.None)).ContinueWith(t => (id, won: t.Result), TaskScheduler.Default)));
        var results = await Task.WhenAll(attempts);

        Assert.All(results.GroupBy(r => r.id), attemptsOnOne => Assert.Single(attemptsOnOne, r => r.won));
    }

    [Fact]
    public async Task Batched_reads_and_publish_marks_answer_each_caller_for_its_own_row()
    {
        var requestIds = Enumerable.Range(0, 30).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in requestIds)
        {
            await InsertAsync(env, id);
        }

        Assert.All(
            await Terminal(env).TryFinishManyAsync([.. requestIds.Select(id => new FinishRequest(id, Completed(id), null))], CancellationToken.None),
            Assert.True);

        var batches = env.Receiver.Services.GetRequiredService<LedgerBatches>();
        using var batchSizes = new LedgerBatchSizes(env.Receiver.Services.GetRequiredService<IMeterFactory>());

        var missing = Guid.NewGuid();
        var rows = await Task.WhenAll(requestIds.Append(missing).Select(id => batches.FindAsync(id, CancellationToken.None)));
        Assert.Equal(requestIds, rows[..^1].Select(r => r!.RequestId));
        Assert.Null(rows[^1]);

        await Task.WhenAll(requestIds.Take(20).Select(id => batches.MarkEventPublishedAsync(id, CancellationToken.None)));
        var marked = await Task.WhenAll(requestIds.Select(async id => (await env.RowAsync(id))!.EventPublishedAt is not null));
        Assert.Equal(requestIds.Select((_, i) => i < 20), marked);
        // Every caller was counted in exactly one statement's batch.
        Assert.Equal(31, batchSizes.Rows("read"));
        Assert.Equal(20, batchSizes.Rows("mark"));
    }
}
