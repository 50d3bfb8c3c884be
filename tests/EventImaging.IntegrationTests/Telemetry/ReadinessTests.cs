using System.Net;
using EventImaging.IntegrationTests.Pipeline;
using Npgsql;

namespace EventImaging.IntegrationTests.Telemetry;

/// <summary><c>/health/ready</c> follows the ledger database and the broker; <c>/health/live</c> only the process.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class ReadinessTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task Ready_turns_unhealthy_while_the_ledger_database_refuses_connections_and_healthy_when_it_returns()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        Assert.Equal(HttpStatusCode.OK, await ReadyAsync(env));
        await using (await postgres.RefuseConnectionsAsync(new NpgsqlConnectionStringBuilder(env.Ledger).Database!))
        {
            await Eventually.UntilAsync(async () => await ReadyAsync(env) == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), "ready to report the database outage");
            Assert.Equal(HttpStatusCode.OK, (await env.Http.GetAsync(new Uri(env.ReceiverUrl, "/health/live"))).StatusCode);
        }

        await Eventually.UntilAsync(async () => await ReadyAsync(env) == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "ready to recover with the database");
    }

    [Fact]
    public async Task Ready_of_both_services_turns_unhealthy_while_the_broker_is_gone_and_healthy_when_it_returns()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        Assert.Equal(HttpStatusCode.OK, await ReadyAsync(env));
        var vhost = Uri.UnescapeDataString(env.Broker.AbsolutePath.TrimStart('/'));

        // Deleting the virtual host closes every connection to it and refuses new ones, as a broker outage does.
        await rabbitMq.DeleteVirtualHostAsync(vhost);
        try
        {
            await Eventually.UntilAsync(async () => await ReadyAsync(env, env.Submitter) == HttpStatusCode.ServiceUnavailable && await ReadyAsync(env) == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30), "ready of both services to report the broker outage");
        }
        finally
        {
            await rabbitMq.CreateVirtualHostAsync(vhost);
        }

        await Eventually.UntilAsync(async () => await ReadyAsync(env, env.Submitter) == HttpStatusCode.OK && await ReadyAsync(env) == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "ready of both services to recover with the broker");
    }

    private static async Task<HttpStatusCode> ReadyAsync(PipelineEnvironment env) =>
        (await env.Http.GetAsync(new Uri(env.ReceiverUrl, "/health/ready"))).StatusCode;

    private static async Task<HttpStatusCode> ReadyAsync(PipelineEnvironment env, ServiceApp service) =>
        (await env.Http.GetAsync(new Uri(service.BaseUrl, "/health/ready"))).StatusCode;
}
