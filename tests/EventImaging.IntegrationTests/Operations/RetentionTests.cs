using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Retention;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventImaging.IntegrationTests.Operations;

/// <summary>
/// Retention on a ledger that has lived a while: finished requests whose event was published are deleted with their
/// history once <c>Ledger:Retention</c> has passed, in batches; nothing else is touched.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class RetentionTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task A_sweep_deletes_only_published_requests_that_finished_before_the_retention_with_their_history()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            // The services keep everything, so no sweep of theirs (one runs at start-up, on the thread pool, whenever a
            // loaded machine gets to it) can race the test's own: a week's retention, in batches of 100.
            ["Ledger:Retention"] = "00:00:00",
        }, output: output);
        var sweeper = ActivatorUtilities.CreateInstance<RetentionSweeper>(
            env.Submitter.Services,
            Options.Create(new LedgerOptions { Retention = TimeSpan.FromDays(7), RetentionBatchSize = 100 }));
        var now = DateTimeOffset.UtcNow;
        var expired = Rows(1050, r => Finished(r, now.AddDays(-8), published: true));
        var recent = Rows(20, r => Finished(r, now.AddDays(-6), published: true));
        var unpublished = Rows(5, r => Finished(r, now.AddDays(-9), published: false));
        var running = Rows(5, r => r.CreatedAt = now.AddDays(-20));
        await using (var scope = env.Receiver.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LedgerDbContext>();
            var all = expired.Concat(recent).Concat(unpublished).Concat(running).ToList();
            db.Requests.AddRange(all);
            db.History.AddRange(all.SelectMany(r => Enumerable.Range(0, 3).Select(i =>
                new HistoryEntry { RequestId = r.RequestId, At = r.CreatedAt.AddSeconds(i), Kind = HistoryKinds.Received, Detail = "aged" })));
            await db.SaveChangesAsync();
        }

        // A request of today, completed through the pipeline, is not touched either.
        var today = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = today, prompt = $"Finished today {today:N}" });
        await env.Events.TerminalAsync(today);
        await env.MarkedPublishedAsync(today);

        var deleted = await sweeper.SweepOnceAsync(CancellationToken.None);

        Assert.Equal(expired.Count, deleted);
        await using var check = env.Receiver.Services.CreateAsyncScope();
        var ledger = check.ServiceProvider.GetRequiredService<LedgerDbContext>();
        var left = await ledger.Requests.Select(r => r.RequestId).ToListAsync();
        Assert.Equal([.. recent.Concat(unpublished).Concat(running).Select(r => r.RequestId).Append(today).Order()], left.Order());
        var historyLeft = await ledger.History.Select(h => h.RequestId).Distinct().ToListAsync();
        Assert.DoesNotContain(historyLeft, expired.Select(r => r.RequestId).Contains);
        Assert.Equal(3 * (recent.Count + unpublished.Count + running.Count), await ledger.History.CountAsync(h => h.Detail == "aged"));
        Assert.Equal(0, await sweeper.SweepOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Requests_are_deleted_by_the_running_sweep_once_their_retention_has_passed()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Ledger:Retention"] = "00:00:02",
            ["Ledger:RetentionInterval"] = "00:00:00.500",
        }, output: output);
        var done = Guid.NewGuid();
        var running = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = done, prompt = $"Short-lived {done:N}" });
        await env.PublishJsonAsync(new { requestId = running, prompt = $"Still running [sim:never-finish] {running:N}" });
        await env.Events.TerminalAsync(done);
        await env.SubmittedAsync(running);

        await Eventually.UntilAsync(async () => await env.RowAsync(done) is null, TimeSpan.FromSeconds(15), "the finished request to be deleted");
        await Eventually.UntilAsync(async () => (await env.HistoryAsync(done)).Count == 0, TimeSpan.FromSeconds(10), "its history to be gone");
        Assert.Equal(RequestState.Submitted, (await env.RowAsync(running))!.State);
        Assert.NotEmpty(await env.HistoryAsync(running));
    }

    private static List<ImageRequest> Rows(int count, Action<ImageRequest> shape) =>
        [.. Enumerable.Range(0, count).Select(_ =>
        {
            var row = new ImageRequest
            {
                RequestId = Guid.NewGuid(),
                Provider = "evolink",
                Model = "gpt-image-1.5",
                State = RequestState.Submitted,
                CommandJson = """{"prompt":"an old prompt"}""",
                Deadline = DateTimeOffset.UtcNow.AddDays(1),
                CreatedAt = DateTimeOffset.UtcNow,
                UpdatedAt = DateTimeOffset.UtcNow,
            };
            shape(row);
            return row;
        })];

    private static void Finished(ImageRequest row, DateTimeOffset at, bool published)
    {
        row.State = RequestState.Completed;
        row.CreatedAt = at.AddMinutes(-1);
        row.FinishedAt = at;
        row.EventType = "ImageCompleted";
        row.EventJson = "{}";
        row.EventPublishedAt = published ? at : null;
        // An unpublished one is being published by another writer: the outbox sweeper keeps off it during the test.
        row.LeaseOwner = published ? null : "another-writer";
        row.LeaseUntil = published ? null : DateTimeOffset.UtcNow.AddHours(1);
    }
}
