using EventImaging.Core.Messaging;
using EventImaging.IntegrationTests.Pipeline;
using EventImaging.IntegrationTests.Telemetry;
using Npgsql;
using Xunit.Abstractions;

namespace EventImaging.IntegrationTests.Reliability;

/// <summary>
/// Outages of the ledger database and of the broker while commands and callbacks keep arriving: each delays requests,
/// none loses or fails one. Every request ends with exactly one ImageCompleted once the outage is over.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class OutageTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>15 s and 2 min in every run; 10 min as well with <c>EVENTIMAGING_TEST_LONG=1</c> (the long command).</summary>
    public static TheoryData<int> LedgerOutageSeconds()
    {
        var seconds = new TheoryData<int> { 15, 120 };
        if (Environment.GetEnvironmentVariable("EVENTIMAGING_TEST_LONG") == "1")
        {
            seconds.Add(600);
        }

        return seconds;
    }

    [Theory]
    [MemberData(nameof(LedgerOutageSeconds))]
    public async Task A_ledger_outage_while_commands_and_callbacks_arrive_loses_and_fails_nothing(int seconds)
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:00:02",
        }, output: output);
        env.Simulator.UpdateKnobs(k => k with { CompletionDelayMs = 1500 });
        var ids = new List<Guid>();
        async Task PublishAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var id = Guid.NewGuid();
                ids.Add(id);
                // Every third one's callback is lost: only a poll after the outage can finish it.
                await env.PublishJsonAsync(new { requestId = id, prompt = $"Outage {(ids.Count % 3 == 0 ? "[sim:no-callback]" : "")} {id:N}" });
            }
        }

        // Requests in every stage when the outage begins: finished, submitted with a callback on its way, just published.
        await PublishAsync(10);
        await env.Events.TerminalAsync(ids[0]);
        await PublishAsync(5);

        await using (await postgres.RefuseConnectionsAsync(new NpgsqlConnectionStringBuilder(env.Ledger).Database!))
        {
            // Commands keep coming during the outage, spread over it.
            using var pace = new PeriodicTimer(TimeSpan.FromSeconds(seconds / 5.0));
            for (var tick = 0; tick < 5 && await pace.WaitForNextTickAsync(); tick++)
            {
                await PublishAsync(2);
            }
        }

        await EachCompletesOnceAsync(env, ids, TimeSpan.FromSeconds(90), $"a {seconds} s ledger outage");
    }

    [Fact]
    public async Task A_broker_outage_of_30_seconds_while_callbacks_arrive_loses_and_fails_nothing()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:00:02",
        }, output: output);
        // Callbacks come 3 s after each create: during the outage, which begins as soon as every request is submitted.
        env.Simulator.UpdateKnobs(k => k with { CompletionDelayMs = 3000 });
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            await env.PublishJsonAsync(new { requestId = ids[i], prompt = $"Broker outage {(i % 4 == 0 ? "[sim:no-callback]" : "")} {ids[i]:N}" });
        }

        foreach (var id in ids)
        {
            await env.SubmittedAsync(id);
        }

        await using (await rabbitMq.RefuseConnectionsAsync(env.Broker, EventCollector.ConnectionName))
        {
            // Every callback is due within the outage; the ledger records what they say while no event can be published.
            using var outage = new PeriodicTimer(TimeSpan.FromSeconds(30));
            await outage.WaitForNextTickAsync();
        }

        await EachCompletesOnceAsync(env, ids, TimeSpan.FromSeconds(120), "a 30 s broker outage");
    }

    /// <summary>
    /// The broker closes the Submitter's connection while a create call is under way: the call runs to its answer and
    /// its task is recorded, one create and no unknown outcome. A guard, not a reproduction: closing the connection alone
    /// does not cancel this consume (the chaos suite caught the cancellation that did, of commands retried in place and
    /// prefetched at that moment; the Submitter stop test reproduces the same loss deterministically).
    /// </summary>
    [Fact]
    public async Task A_broker_outage_during_a_create_call_does_not_make_its_outcome_unknown()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var id = Guid.NewGuid();
        var marker = id.ToString("N");
        await env.PublishJsonAsync(new { requestId = id, prompt = $"Broker outage mid-create [sim:create-latency=3000] {marker}" });
        await Eventually.UntilAsync(async () => await env.RowAsync(id) is { AttemptInFlight: true }, TimeSpan.FromSeconds(30), "the create call to be under way");

        await using (await rabbitMq.RefuseConnectionsAsync(env.Broker, EventCollector.ConnectionName))
        {
            await Eventually.UntilAsync(
                async () => await env.RowAsync(id) is { ProviderTaskId: not null },
                TimeSpan.FromSeconds(30),
                "the create's task to be recorded while the broker is unreachable");
        }

        var row = await env.RowAsync(id);
        Assert.Equal((1, 0), (row!.SubmitAttempts, row.UnknownOutcomes));
        var created = Assert.Single(env.CreatesFor(marker));
        Assert.Equal((200, row.ProviderTaskId), (created.ResponseStatus, created.TaskId));
        await env.Events.TerminalAsync(id, TimeSpan.FromSeconds(60));
        Assert.Equal("ImageCompleted", env.Events.SingleTerminalFor(id).Type);
    }

    /// <summary>
    /// A command retried in place while the ledger is unreachable is cancelled when the broker closes the Submitter's
    /// connection. MassTransit then leaves it on its queue, so it is delivered again and completes: it must be reported
    /// as such, not as a message gone to its error queue (the log line and the dead-letter count operators alert on).
    /// </summary>
    [Fact]
    public async Task A_command_cancelled_by_a_broker_outage_is_delivered_again_and_never_reported_as_dead_lettered()
    {
        var telemetry = new TelemetryCapture();
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, telemetry: telemetry, output: output);
        var id = Guid.NewGuid();
        bool Observed(string line) => line.StartsWith("submitter", StringComparison.Ordinal) && line.Contains(nameof(DeadLetterObserver), StringComparison.Ordinal);
        await using (await postgres.RefuseConnectionsAsync(new NpgsqlConnectionStringBuilder(env.Ledger).Database!))
        {
            await env.PublishJsonAsync(new { requestId = id, prompt = $"Cancelled consume {id:N}" });
            await Eventually.UntilAsync(
                async () => await rabbitMq.MessagesAsync(env.Broker, "generate-image") is (_, 1),
                TimeSpan.FromSeconds(30),
                "the command to be retried in place while the ledger is unreachable");
            await using (await rabbitMq.RefuseConnectionsAsync(env.Broker, EventCollector.ConnectionName))
            {
                await Eventually.UntilAsync(
                    () => Task.FromResult(telemetry.LogLines().Any(Observed)),
                    TimeSpan.FromSeconds(30),
                    "the Submitter to report what became of the cancelled command");
            }
        }

        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(id, TimeSpan.FromSeconds(90))).Type);
        Assert.Equal([], telemetry.LogLines().Where(l => Observed(l) && l.Contains("error queue", StringComparison.Ordinal)));
        Assert.Contains(telemetry.LogLines(), l => Observed(l) && l.Contains("delivered again", StringComparison.Ordinal));
        Assert.True(await rabbitMq.MessagesAsync(env.Broker, "generate-image_error") is null or (0, 0), "nothing is in the error queue");
    }

    /// <summary>Waits for every request's terminal event after an outage ended: each one ImageCompleted, one MessageId.</summary>
    private async Task EachCompletesOnceAsync(PipelineEnvironment env, IReadOnlyCollection<Guid> ids, TimeSpan timeout, string outage)
    {
        var ended = DateTimeOffset.UtcNow;
        foreach (var id in ids)
        {
            await env.Events.TerminalAsync(id, timeout);
        }

        output.WriteLine($"{ids.Count} requests through {outage}; all terminal {(DateTimeOffset.UtcNow - ended).TotalSeconds:0.0} s after it ended");
        foreach (var id in ids)
        {
            var terminal = env.Events.TerminalFor(id);
            Assert.Equal("ImageCompleted", terminal[0].Type);
            Assert.Single(terminal.Select(e => (e.Type, e.MessageId)).Distinct());
        }
    }
}
