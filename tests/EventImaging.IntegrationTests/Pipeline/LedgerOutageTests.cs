using System.Net;
using EventImaging.Core.Ledger;
using EventImaging.IntegrationTests.Processes;
using Npgsql;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>When the ledger database cannot be reached, the receiver says so (503) so the provider retries; nothing is lost.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class LedgerOutageTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task A_callback_during_a_ledger_outage_gets_503_and_the_request_completes_once_the_ledger_is_back()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:10:00",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Outage [sim:no-callback] {requestId:N}" });
        await env.SubmittedAsync(requestId);
        var create = Assert.Single(env.CreatesFor(requestId.ToString("N")));
        var token = env.CallbackTokenOf(requestId);
        var running = $$"""{"id":"{{create.TaskId}}","status":"processing","progress":50}""";
        var completed = $$"""{"id":"{{create.TaskId}}","status":"completed","progress":100,"results":["https://files.example/a.png"]}""";
        // A first, harmless callback: the receiver has read its key ring, as any receiver in service has.
        Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", token, running)).StatusCode);

        await using (await postgres.RefuseConnectionsAsync(new NpgsqlConnectionStringBuilder(env.Ledger).Database!))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await env.PostCallbackAsync("evolink", token, completed)).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await env.PostCallbackAsync("evolink", token, completed)).StatusCode);
        }

        // The provider retries; the ledger is back.
        Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", token, completed)).StatusCode);
        var terminal = await env.Events.TerminalAsync(requestId);
        Assert.Equal("ImageCompleted", terminal.Type);
        env.Events.SingleTerminalFor(requestId);
    }

    [Fact]
    public async Task A_receiver_started_while_the_ledger_is_down_answers_503_to_a_valid_token_then_applies_it()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:10:00",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Cold receiver [sim:no-callback] {requestId:N}" });
        await env.SubmittedAsync(requestId);
        var create = Assert.Single(env.CreatesFor(requestId.ToString("N")));
        var callbackPath = $"/callbacks/evolink/{env.CallbackTokenOf(requestId)}";
        var completed = $$"""{"id":"{{create.TaskId}}","status":"completed","progress":100,"results":["https://files.example/a.png"]}""";
        var settings = new Dictionary<string, string?>(env.Settings) { ["Ledger:MigrateOnStart"] = "false", ["Logging:LogLevel:Default"] = "Warning" };

        ServiceProcess receiver;
        await using (await postgres.RefuseConnectionsAsync(new NpgsqlConnectionStringBuilder(env.Ledger).Database!))
        {
            // A new replica, or one restarted during the outage: its key ring cannot be read yet.
            receiver = await ServiceProcess.StartLiveAsync("EventImaging.WebhookReceiver", settings, output);
            using var refused = await PostAsync(env, receiver, callbackPath, completed);
            // 404 would be final for the provider; 503 makes it retry.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        }

        await using (receiver)
        {
            using var accepted = await PostAsync(env, receiver, callbackPath, completed);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
        env.Events.SingleTerminalFor(requestId);
    }

    private static async Task<HttpResponseMessage> PostAsync(PipelineEnvironment env, ServiceProcess receiver, string path, string body)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        return await env.Http.PostAsync(new Uri(receiver.BaseUrl, path), content);
    }
}
