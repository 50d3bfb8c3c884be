using System.Net;
using EventImaging.Core.Ledger;
using Npgsql;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>When the ledger database cannot be reached, the receiver says so (503) so the provider retries; nothing is lost.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class LedgerOutageTests(RabbitMqFixture rabbitMq, PostgresFixture postgres)
{
    [Fact]
    public async Task A_callback_during_a_ledger_outage_gets_503_and_the_request_completes_once_the_ledger_is_back()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:10:00",
        });
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
        Assert.Single(env.Events.TerminalFor(requestId));
    }
}
