using System.Text;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>Proves the broker and database fixtures work, whichever way they were provided.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class FixtureTests(RabbitMqFixture rabbitMq, PostgresFixture postgres)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_fresh_virtual_host_accepts_a_publish_and_a_get()
    {
        var virtualHost = $"ei-smoke-{Guid.NewGuid():N}";
        var uri = await rabbitMq.CreateVirtualHostAsync(virtualHost);
        try
        {
            var factory = new ConnectionFactory { Uri = uri };
            Assert.Equal(virtualHost, factory.VirtualHost);

            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            var queue = await channel.QueueDeclareAsync(queue: "smoke", durable: false, exclusive: true, autoDelete: true);
            await channel.BasicPublishAsync(exchange: string.Empty, routingKey: queue.QueueName, body: "hello"u8.ToArray());

            BasicGetResult? received = null;
            await Eventually.UntilAsync(
                async () => (received = await channel.BasicGetAsync(queue.QueueName, autoAck: true)) is not null,
                Timeout,
                "the published message can be read back from the queue");

            Assert.Equal("hello", Encoding.UTF8.GetString(received!.Body.Span));
        }
        finally
        {
            await rabbitMq.DeleteVirtualHostAsync(virtualHost);
        }
    }

    [Fact]
    public async Task Virtual_hosts_are_isolated_from_each_other()
    {
        var first = await rabbitMq.CreateVirtualHostAsync();
        var second = await rabbitMq.CreateVirtualHostAsync();

        await using var firstConnection = await new ConnectionFactory { Uri = first }.CreateConnectionAsync();
        await using var firstChannel = await firstConnection.CreateChannelAsync();
        await firstChannel.QueueDeclareAsync(queue: "only-here", durable: false, exclusive: false, autoDelete: false);

        await using var secondConnection = await new ConnectionFactory { Uri = second }.CreateConnectionAsync();
        await using var secondChannel = await secondConnection.CreateChannelAsync();
        var error = await Assert.ThrowsAsync<OperationInterruptedException>(
            () => secondChannel.QueueDeclarePassiveAsync("only-here"));
        Assert.Equal((ushort?)404, error.ShutdownReason?.ReplyCode);
    }

    [Fact]
    public async Task A_fresh_database_runs_queries_and_ddl()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var expectedName = new NpgsqlConnectionStringBuilder(connectionString).Database;

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();

            await using (var select = new NpgsqlCommand("SELECT 1", connection))
            {
                Assert.Equal(1, await select.ExecuteScalarAsync());
            }

            await using (var database = new NpgsqlCommand("SELECT current_database()", connection))
            {
                Assert.Equal(expectedName, await database.ExecuteScalarAsync());
            }

            await using (var ddl = new NpgsqlCommand(
                "CREATE TABLE smoke (id integer PRIMARY KEY, note text NOT NULL); INSERT INTO smoke VALUES (1, 'ok');",
                connection))
            {
                await ddl.ExecuteNonQueryAsync();
            }

            await using (var count = new NpgsqlCommand("SELECT count(*) FROM smoke", connection))
            {
                Assert.Equal(1L, await count.ExecuteScalarAsync());
            }
        }

        await postgres.DropDatabaseAsync(expectedName!);
    }
}
