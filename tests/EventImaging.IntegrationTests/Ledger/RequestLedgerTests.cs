using System.Text.Json;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Submission;
using EventImaging.IntegrationTests.Infrastructure;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace EventImaging.IntegrationTests.Ledger;

/// <summary>The ledger in a running pipeline: no event lost between commit and publish, and the queries on their partial indexes (the rest: <see cref="LedgerSuite"/>).</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class RequestLedgerTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private PipelineEnvironment env = null!;

    public async Task InitializeAsync() => env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);

    public async Task DisposeAsync() => await env.DisposeAsync();

    [Fact]
    public async Task The_sweeper_publishes_a_terminal_event_that_was_committed_but_never_published()
    {
        // The state a crash between commit and publish leaves behind.
        var requestId = Guid.NewGuid();
        await InsertAsync(requestId);
        Assert.True(await Terminal(env).TryFinishAsync(requestId, Completed(requestId), "task-1", CancellationToken.None));
        Assert.Null((await env.RowAsync(requestId))!.EventPublishedAt);

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(15));

        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(requestId, terminal.MessageId);
        // The sweeper publishes it and marks the row.
        await env.MarkedPublishedAsync(requestId, TimeSpan.FromSeconds(15));
        var sweeper = env.Submitter.Services.GetRequiredService<OutboxSweeper>();
        Assert.Equal(0, await sweeper.SweepOnceAsync(CancellationToken.None));
        env.Events.SingleTerminalFor(requestId);
    }

    [Fact]
    public async Task A_republished_event_is_the_event_its_writer_published_again()
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Published twice {requestId:N}", metadata = new { order = "9" } });
        var first = await env.Events.TerminalAsync(requestId);
        await env.MarkedPublishedAsync(requestId);

        // The state a writer that published but stalled past its lease before marking leaves behind.
        await using (var scope = env.Receiver.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LedgerDbContext>();
            await db.Requests.Where(r => r.RequestId == requestId).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.EventPublishedAt, (DateTimeOffset?)null)
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, (DateTimeOffset?)null));
        }

        await Eventually.UntilAsync(
            () => Task.FromResult(env.Events.TerminalFor(requestId).Count == 2),
            TimeSpan.FromSeconds(15),
            "the outbox sweeper to publish the event again");
        var again = env.Events.TerminalFor(requestId)[1];
        Assert.Equal((first.Type, first.MessageId), (again.Type, again.MessageId));
        Assert.True(JsonElement.DeepEquals(first.Message, again.Message), $"{first.Message} then {again.Message}");
        Assert.Same(first, env.Events.SingleTerminalFor(requestId));
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
        Assert.True(await env.Submitter.Services.GetRequiredService<RequestRows>().TryInsertAsync(
            new ImageRequest
            {
                RequestId = requestId,
                Provider = "evolink",
                Model = "gpt-image-1.5",
                State = RequestState.Received,
                CommandJson = $$"""{"requestId":"{{requestId}}","prompt":"p"}""",
                Deadline = DateTimeOffset.UtcNow.AddMinutes(5),
            },
            CancellationToken.None));

    internal static TerminalRows Terminal(PipelineEnvironment env) => env.Submitter.Services.GetRequiredService<TerminalRows>();

    internal static SubmitLeases Leases(PipelineEnvironment env) => env.Submitter.Services.GetRequiredService<SubmitLeases>();

    internal static TerminalOutcome Completed(Guid requestId) => LedgerStore.Completed(requestId);

    internal static TerminalOutcome Failed(Guid requestId) => LedgerStore.Failed(requestId);
}
