using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.IntegrationTests.Infrastructure;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace EventImaging.IntegrationTests.Ledger;

/// <summary>The ledger's guarantees on real PostgreSQL: one winner per transition, and no event lost between commit and publish.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class RequestLedgerTests(RabbitMqFixture rabbitMq, PostgresFixture postgres) : IAsyncLifetime
{
    private PipelineEnvironment env = null!;

    public async Task InitializeAsync() => env = await PipelineEnvironment.StartAsync(rabbitMq, postgres);

    public async Task DisposeAsync() => await env.DisposeAsync();

    [Fact]
    public async Task Of_many_racing_terminal_writers_exactly_one_wins()
    {
        var requestId = Guid.NewGuid();
        await InsertAsync(requestId);
        await WithLedgerAsync(ledger => ledger.TryMarkSubmittedAsync(requestId, "task-1", null, CancellationToken.None));

        var attempts = Enumerable.Range(0, 16).Select(i => Task.Run(() => WithLedgerAsync(ledger =>
            ledger.TryFinishAsync(requestId, i % 2 == 0 ? Completed(requestId) : Failed(requestId), "task-1", CancellationToken.None))));
        var results = await Task.WhenAll(attempts);

        Assert.Equal(1, results.Count(won => won));
        var row = await env.RowAsync(requestId);
        Assert.True(row!.State.IsTerminal());
        Assert.NotNull(row.EventJson);
    }

    [Fact]
    public async Task A_terminal_row_is_never_left()
    {
        var requestId = Guid.NewGuid();
        await InsertAsync(requestId);
        Assert.True(await WithLedgerAsync(l => l.TryFinishAsync(requestId, Failed(requestId), null, CancellationToken.None)));

        Assert.False(await WithLedgerAsync(l => l.TryFinishAsync(requestId, Completed(requestId), null, CancellationToken.None)));
        Assert.False(await WithLedgerAsync(l => l.TryMarkSubmittedAsync(requestId, "task-late", null, CancellationToken.None)));
        Assert.Equal(RequestState.Failed, (await env.RowAsync(requestId))!.State);
    }

    [Fact]
    public async Task A_terminal_transition_for_another_task_is_refused()
    {
        var requestId = Guid.NewGuid();
        await InsertAsync(requestId);
        await WithLedgerAsync(l => l.TryMarkSubmittedAsync(requestId, "task-1", null, CancellationToken.None));

        Assert.False(await WithLedgerAsync(l => l.TryFinishAsync(requestId, Completed(requestId), "task-2", CancellationToken.None)));
        Assert.Equal(RequestState.Submitted, (await env.RowAsync(requestId))!.State);
    }

    [Fact]
    public async Task The_sweeper_publishes_a_terminal_event_that_was_committed_but_never_published()
    {
        // The state a crash between commit and publish leaves behind.
        var requestId = Guid.NewGuid();
        await InsertAsync(requestId);
        Assert.True(await WithLedgerAsync(l => l.TryFinishAsync(requestId, Completed(requestId), "task-1", CancellationToken.None)));
        Assert.Null((await env.RowAsync(requestId))!.EventPublishedAt);

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(15));

        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(requestId, terminal.MessageId);
        // The sweeper publishes it and marks the row.
        await env.MarkedPublishedAsync(requestId, TimeSpan.FromSeconds(15));
        var sweeper = env.Submitter.Services.GetRequiredService<OutboxSweeper>();
        Assert.Equal(0, await sweeper.SweepOnceAsync(CancellationToken.None));
        Assert.Single(env.Events.TerminalFor(requestId));
    }

    [Fact]
    public async Task The_due_and_outbox_queries_use_their_partial_indexes()
    {
        await using var scope = env.Submitter.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LedgerDbContext>();
        var indexes = await db.Database.SqlQueryRaw<string>(
            "SELECT indexdef AS \"Value\" FROM pg_indexes WHERE tablename = 'image_requests'").ToListAsync();

        Assert.Contains(indexes, i => i.Contains("ix_image_requests_due", StringComparison.Ordinal) && i.Contains("WHERE (next_action_at IS NOT NULL)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("ix_image_requests_unpublished", StringComparison.Ordinal) && i.Contains("event_published_at IS NULL", StringComparison.Ordinal));
    }

    private Task InsertAsync(Guid requestId) => InsertAsync(env, requestId);

    internal static async Task InsertAsync(PipelineEnvironment env, Guid requestId) =>
        Assert.True(await WithLedgerAsync(env, ledger => ledger.TryInsertAsync(
            new ImageRequest
            {
                RequestId = requestId,
                Provider = "evolink",
                Model = "gpt-image-1.5",
                State = RequestState.Received,
                CommandJson = $$"""{"requestId":"{{requestId}}","prompt":"p"}""",
                Deadline = DateTimeOffset.UtcNow.AddMinutes(5),
            },
            CancellationToken.None)));

    private Task<T> WithLedgerAsync<T>(Func<RequestLedger, Task<T>> action) => WithLedgerAsync(env, action);

    internal static async Task<T> WithLedgerAsync<T>(PipelineEnvironment env, Func<RequestLedger, Task<T>> action)
    {
        await using var scope = env.Submitter.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<RequestLedger>());
    }

    internal static TerminalOutcome Completed(Guid requestId) => TerminalOutcome.Of(new ImageCompleted
    {
        RequestId = requestId,
        Provider = "evolink",
        Model = "gpt-image-1.5",
        ProviderTaskId = "task-1",
        ImageUrls = ["https://files.example/a.png"],
        UrlsExpireAt = DateTimeOffset.UtcNow.AddHours(24),
        CompletedVia = CompletionPaths.Callback,
        CompletedAt = DateTimeOffset.UtcNow,
    });

    internal static TerminalOutcome Failed(Guid requestId) => TerminalOutcome.Of(new ImageFailed
    {
        RequestId = requestId,
        Provider = "evolink",
        Model = "gpt-image-1.5",
        Code = FailureCodes.ProviderError,
        Message = "m",
        Retryable = true,
        FailedAt = DateTimeOffset.UtcNow,
    });
}
