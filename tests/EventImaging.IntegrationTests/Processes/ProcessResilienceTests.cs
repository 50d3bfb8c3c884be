using EventImaging.Contracts;
using EventImaging.IntegrationTests.Pipeline;
using EventImaging.ProviderSimulator;
using Xunit.Abstractions;

namespace EventImaging.IntegrationTests.Processes;

/// <summary>Submitters and receivers as separate processes on one broker and database: killed, restarted, scaled out.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class ProcessResilienceTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>What the k8s prod overlay sets: the schema comes from the migration step, the queues are quorum queues.</summary>
    private static Dictionary<string, string?> AsDeployed(PipelineEnvironment env) =>
        new(env.Settings)
        {
            ["Ledger:MigrateOnStart"] = "false",
            ["Messaging:QuorumQueues"] = "true",
            ["Logging:LogLevel:Default"] = "Warning",
        };

    private static Dictionary<string, string?> SubmitterSettings(PipelineEnvironment env, Uri receiver) =>
        new(AsDeployed(env))
        {
            ["Callbacks:PublicBaseUrl"] = receiver.AbsoluteUri,
            ["Submitter:SubmitLease"] = "00:00:03",
            ["Polling:FirstPollGrace"] = "00:00:02",
        };

    [Fact]
    public async Task A_submitter_killed_mid_flight_and_restarted_still_ends_every_request_exactly_once()
    {
        // The in-process receiver writes every terminal transition here and does not crash: a publish lease longer
        // than a writer's stall on a loaded machine keeps the sweeper from sending a second copy.
        await using var env = await PipelineEnvironment.StartAsync(
            rabbitMq, postgres, new Dictionary<string, string?> { ["Outbox:PublishLease"] = "00:00:20" }, inProcessSubmitter: false, output: output);
        // Creates take a second, so some are still in flight when the kill lands however late the test thread runs.
        env.Simulator.UpdateKnobs(k => k with { CompletionDelayMs = 1500, CreateLatencyMs = 1000 });
        var settings = SubmitterSettings(env, env.ReceiverUrl);
        var ids = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToArray();
        // Four creates at a time: reaching all 40 before the kill would take the test thread a 7 s stall.
        var firstSettings = new Dictionary<string, string?>(settings) { ["Submitter:ConcurrentSubmissions"] = "4" };

        await using (var first = await ServiceProcess.StartAsync("EventImaging.Submitter", firstSettings, output))
        {
            foreach (var id in ids)
            {
                await env.PublishJsonAsync(new { requestId = id, prompt = $"Crash test {id:N}" });
            }

            await Eventually.UntilAsync(
                () => Task.FromResult(Answered(env) >= 10),
                TimeSpan.FromSeconds(30),
                "some creates to be answered by the provider before the kill");
            await first.KillAsync();
        }

        var answeredBeforeKill = Answered(env);
        // The simulator records a create it was still holding when its caller died as never answered.
        await Eventually.UntilAsync(
            () => Task.FromResult(env.Simulator.GetCreateRequests().Any(c => c.ResponseStatus == ReceivedCreateRequest.NeverAnswered)),
            TimeSpan.FromSeconds(10),
            "a create cut short by the kill");
        await using var second = await ServiceProcess.StartAsync("EventImaging.Submitter", settings, output);

        foreach (var id in ids)
        {
            await env.Events.TerminalAsync(id, TimeSpan.FromSeconds(60));
        }

        output.WriteLine($"{answeredBeforeKill} of {ids.Length} requests had been answered by the provider when the first submitter was killed");
        Assert.All(ids, id => Assert.Equal("ImageCompleted", Assert.Single(env.Events.TerminalFor(id)).Type));
        Assert.InRange(answeredBeforeKill, 10, ids.Length - 1);

        static int Answered(PipelineEnvironment env) =>
            env.Simulator.GetCreateRequests().Count(c => c.ResponseStatus != ReceivedCreateRequest.NeverAnswered);
    }

    [Fact]
    public async Task Two_submitters_and_two_receivers_settle_200_requests_once_each_and_never_query_a_task_twice_at_once()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, inProcessSubmitter: false, output: output);
        env.Simulator.UpdateKnobs(k => k with { CompletionDelayMs = 300 });
        // Nothing crashes here, so the writer of each terminal transition publishes its event. Its publish lease is
        // longer than the other tests' 3 s: on a loaded 2-core machine a writer can stall that long, and a sweeper
        // would then publish a second copy (same MessageId; allowed, but not what this test counts).
        static Dictionary<string, string?> NoCrash(Dictionary<string, string?> settings)
        {
            settings["Outbox:PublishLease"] = "00:00:20";
            return settings;
        }

        var receiverSettings = NoCrash(AsDeployed(env));
        await using var receiverA = await ServiceProcess.StartAsync("EventImaging.WebhookReceiver", receiverSettings, output);
        await using var receiverB = await ServiceProcess.StartAsync("EventImaging.WebhookReceiver", receiverSettings, output);
        // Each submitter's callbacks go to the other's receiver: tokens cross processes through the shared key ring.
        await using var submitterA = await ServiceProcess.StartAsync("EventImaging.Submitter", NoCrash(SubmitterSettings(env, receiverB.BaseUrl)), output);
        await using var submitterB = await ServiceProcess.StartAsync("EventImaging.Submitter", NoCrash(SubmitterSettings(env, receiverA.BaseUrl)), output);

        var ids = Enumerable.Range(0, 200).Select(_ => Guid.NewGuid()).ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            var marker = (i % 2, i % 4) switch
            {
                (0, _) => "[sim:no-callback]",
                (_, 1) => "[sim:callbacks=2]",
                _ => "",
            };
            await env.PublishJsonAsync(new { requestId = ids[i], prompt = $"Scale {marker} {ids[i]:N}" });
        }

        foreach (var id in ids)
        {
            await env.Events.TerminalAsync(id, TimeSpan.FromSeconds(90));
        }

        // Anything still in flight would arrive well within the outbox's own sweep; the sweeper leaves none.
        var probe = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = probe, prompt = "" });
        await env.Events.TerminalAsync(probe);

        var viaPoll = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            var terminal = Assert.Single(env.Events.TerminalFor(ids[i]));
            Assert.Equal("ImageCompleted", terminal.Type);
            var polled = terminal.Text("completedVia") == CompletionPaths.Poll;
            viaPoll += polled ? 1 : 0;
            if (i % 2 == 0)
            {
                Assert.True(polled, $"request {i} had its callback dropped, so only a poll could finish it");
            }

            // Every status query follows a claim by exactly one poller: queries = rescheduled polls + the final one,
            // plus at most one poll that lost the race to a late callback (a loaded machine delays callbacks past
            // the first poll); never two pollers on one task.
            var row = (await env.RowAsync(ids[i]))!;
            var queries = env.Simulator.GetStatusQueryCount(row.ProviderTaskId!);
            Assert.InRange(queries, row.PollCount + (polled ? 1 : 0), row.PollCount + 1);
        }

        output.WriteLine($"200 requests: {viaPoll} completed via poll, {200 - viaPoll} via callback");

        // Either receiver accepts a token minted by either Submitter (one key ring, in the ledger database): a valid
        // token with an unreadable body is answered 400, a token a receiver could not open 404.
        var mintedBy = ids
            .Select(id => new Uri(env.CreatesFor(id.ToString("N")).Single().Body!.Value.GetProperty("callback_url").GetString()!))
            .GroupBy(url => url.Authority)
            .Select(group => group.First())
            .ToList();
        Assert.Equal(2, mintedBy.Count);
        foreach (var callbackUrl in mintedBy)
        {
            foreach (var receiver in new[] { receiverA, receiverB })
            {
                using var body = new StringContent("not json", System.Text.Encoding.UTF8, "application/json");
                var response = await env.Http.PostAsync(new Uri(receiver.BaseUrl, callbackUrl.AbsolutePath), body);
                Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
            }
        }

        Assert.Equal(200, ids.Select(id => env.Events.TerminalFor(id)[0].MessageId).Distinct().Count());
    }
}
