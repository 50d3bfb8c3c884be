using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.IntegrationTests.Pipeline;
using EventImaging.ProviderSimulator;

namespace EventImaging.IntegrationTests.Reliability;

/// <summary>What the provider's answers mean for a request: never sent twice when the first may have worked, never failed when it did.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class ProviderOutcomeTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task A_create_answered_504_after_the_task_was_made_is_finished_by_its_callback_and_never_sent_again()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            // Long enough that only a wrong reading of the 504 (nothing was made: send again) could send a second create.
            ["Submitter:UnknownOutcomeWait"] = "00:01:00",
            ["Polling:FirstPollGrace"] = "00:10:00",
        }, output: output);
        env.Simulator.UpdateKnobs(k => k with { Chaos = new ChaosShares { CreateThenGatewayTimeout = 1 } });
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            await env.PublishJsonAsync(new { requestId = id, prompt = $"Gateway timeout {id:N}" });
        }

        foreach (var id in ids)
        {
            var completed = await env.Events.TerminalAsync(id);
            Assert.Equal("ImageCompleted", completed.Type);
            Assert.Equal(CompletionPaths.Callback, completed.Text("completedVia"));
            var create = Assert.Single(env.CreatesFor(id.ToString("N")));
            Assert.Equal(504, create.ResponseStatus);
            // The callback's task id is adopted: the one the provider made.
            Assert.Equal(create.TaskId, completed.Text("providerTaskId"));
        }
    }

    /// <summary>
    /// A rolling update stops a Submitter while a scheduled retry's create call is under way. The stop waits for the
    /// call's answer and records its task: cut short, the create's outcome would be unknown, although the provider made the
    /// task, and the request would be sent again (billed twice) or fail after a second unknown outcome.
    /// </summary>
    [Fact]
    public async Task A_Submitter_stopping_during_a_create_call_records_its_answer_and_never_sends_it_again()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            // Longer than the test: only the stopped call itself could leave the attempt unrecorded.
            ["Submitter:SubmitLease"] = "00:02:00",
        }, output: output);
        var id = Guid.NewGuid();
        var marker = id.ToString("N");
        // The first create is refused (503): the retry comes from the scheduler, which runs on the host's stopping token.
        await env.PublishJsonAsync(new { requestId = id, prompt = $"Stopped mid-create [sim:create-latency=5000] [sim:create-error=503] [sim:create-error-times=1] {marker}" });
        await Eventually.UntilAsync(
            async () => await env.RowAsync(id) is { SubmitAttempts: 2, AttemptInFlight: true },
            TimeSpan.FromSeconds(30),
            "the scheduled retry's create call to be under way");

        await env.Submitter.DisposeAsync();

        var row = await env.RowAsync(id);
        Assert.Equal((RequestState.Submitted, 0), (row!.State, row.UnknownOutcomes));
        var creates = env.CreatesFor(marker);
        Assert.Equal([503, 200], creates.Select(c => c.ResponseStatus));
        Assert.Equal(creates[1].TaskId, row.ProviderTaskId);
    }

    [Fact]
    public async Task A_task_that_finished_before_its_deadline_is_not_reported_as_timed_out()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            // No poll before the deadline and no callback: only the last look at the deadline can find the image.
            ["Polling:FirstPollGrace"] = "00:10:00",
        }, output: output);
        var requestId = Guid.NewGuid();
        // 12 s away: the task (done in a fraction of a second) has finished by then unless its create waits that long.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(12);
        await env.PublishJsonAsync(new { requestId, prompt = $"Just in time [sim:no-callback] {requestId:N}", deadline });

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(40));
        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(CompletionPaths.Poll, terminal.Text("completedVia"));
    }

    [Fact]
    public async Task A_status_query_refused_for_the_key_ends_the_request_as_unauthorized_not_as_a_timeout()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:00:01",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Revoked key [sim:no-callback] [sim:query-error=401] {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(20));
        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(FailureCodes.Unauthorized, terminal.Text("code"));
    }
}
