using System.Net;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using Xunit.Abstractions;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>No request is lost or stuck: lost callbacks are covered by polling, and every request ends by its deadline.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class PollingFallbackTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_callback_dropped_still_completes_every_request_via_poll()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        env.Simulator.UpdateKnobs(k => k with { DropCallbacks = true });
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            await env.PublishJsonAsync(new { requestId = id, prompt = $"Lost callback {id:N}" });
        }

        foreach (var id in ids)
        {
            var terminal = await env.Events.TerminalAsync(id, TimeSpan.FromSeconds(45));
            Assert.Equal("ImageCompleted", terminal.Type);
            Assert.Equal(CompletionPaths.Poll, terminal.Text("completedVia"));
        }

        var polls = ids.Select(id => env.Simulator.GetStatusQueryCount(Assert.Single(env.CreatesFor(id.ToString("N"))).TaskId!)).Order().ToArray();
        output.WriteLine($"status queries per task with every callback lost: median {polls[polls.Length / 2]}, max {polls[^1]}");
        Assert.All(polls, count => Assert.InRange(count, 1, 10));
        Assert.All(ids, id => env.Events.SingleTerminalFor(id));
    }

    [Fact]
    public async Task Tasks_finished_by_their_callback_are_never_queried()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = PipelineEnvironment.FirstPollGraceForBothPaths,
        }, output: output);
        var ids = Enumerable.Range(0, 10).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            await env.PublishJsonAsync(new { requestId = id, prompt = $"Called back {id:N}" });
        }

        foreach (var id in ids)
        {
            Assert.Equal(CompletionPaths.Callback, (await env.Events.TerminalAsync(id)).Text("completedVia"));
        }

        // Until past the first poll time of every task: a task still due would have been queried by then.
        var lastSubmitted = ids.Max(id => env.CreatesFor(id.ToString("N"))[0].ReceivedAt);
        var taskIds = ids.Select(id => env.CreatesFor(id.ToString("N"))[0].TaskId!).ToArray();
        await Eventually.NeverAsync(
            () => taskIds.Any(task => env.Simulator.GetStatusQueryCount(task) > 0),
            lastSubmitted.AddSeconds(5) - DateTimeOffset.UtcNow,
            "a status query for a task that was called back");
        Assert.All(taskIds, task => Assert.Equal(0, env.Simulator.GetStatusQueryCount(task)));
        foreach (var id in ids)
        {
            Assert.Null((await env.RowAsync(id))!.NextActionAt);
        }
    }

    [Fact]
    public async Task A_task_that_never_finishes_fails_with_timeout_at_its_deadline_and_a_late_callback_changes_nothing()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var requestId = Guid.NewGuid();
        // 8 s away: the command is submitted before it unless its consume waits that long (a past deadline is refused).
        var deadline = DateTimeOffset.UtcNow.AddSeconds(8);
        await env.PublishJsonAsync(new { requestId, prompt = $"Forever [sim:never-finish] {requestId:N}", deadline });

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(30));

        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(FailureCodes.Timeout, terminal.Text("code"));
        Assert.True(terminal.Message.GetProperty("failedAt").GetDateTimeOffset() >= deadline);
        Assert.True(terminal.Message.GetProperty("retryable").GetBoolean());

        var create = Assert.Single(env.CreatesFor(requestId.ToString("N")));
        var late = $$"""{"id":"{{create.TaskId}}","status":"completed","progress":100,"results":["https://files.example/late.png"]}""";
        Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", env.CallbackTokenOf(requestId), late)).StatusCode);
        Assert.Equal(RequestState.Failed, (await env.RowAsync(requestId))!.State);
        env.Events.SingleTerminalFor(requestId);
    }

    [Fact]
    public async Task Polling_only_mode_sends_no_callback_url_and_completes_via_poll()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Callbacks:PublicBaseUrl"] = "",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"No callbacks here {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId);

        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(CompletionPaths.Poll, terminal.Text("completedVia"));
        Assert.False(Assert.Single(env.CreatesFor(requestId.ToString("N"))).Body!.Value.TryGetProperty("callback_url", out _));
    }

    [Fact]
    public async Task Query_errors_only_reschedule_and_the_request_still_completes()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Callbacks:PublicBaseUrl"] = "",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Flaky status [sim:query-error=500;query-error-count=3] {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(30));

        Assert.Equal("ImageCompleted", terminal.Type);
        var taskId = Assert.Single(env.CreatesFor(requestId.ToString("N"))).TaskId!;
        Assert.True(env.Simulator.GetStatusQueryCount(taskId) >= 4);
    }

    [Fact]
    public async Task An_unreadable_callback_makes_the_task_due_for_an_immediate_poll()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:10:00",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Garbled [sim:no-callback;delay=100] {requestId:N}" });
        await env.SubmittedAsync(requestId);
        Assert.Equal(HttpStatusCode.BadRequest, (await env.PostCallbackAsync("evolink", env.CallbackTokenOf(requestId), "<html>oops</html>")).StatusCode);

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(15));
        Assert.Equal(CompletionPaths.Poll, terminal.Text("completedVia"));
    }
}
