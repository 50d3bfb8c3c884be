using EventImaging.Core.Messaging;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>On a RabbitMQ cluster, <c>Messaging:QuorumQueues</c> makes the services' queues replicated quorum queues.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class QuorumQueueTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Theory]
    [InlineData(true, "quorum")]
    [InlineData(false, "classic")]
    public async Task The_switch_declares_the_command_queue_with_the_chosen_type_and_requests_still_complete(bool quorum, string type)
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            [MessageBusExtensions.QuorumQueuesKey] = quorum ? "true" : "false",
        }, output: output);

        var queues = await rabbitMq.QueueTypesAsync(env.Broker);
        Assert.Equal(type, queues["generate-image"]);

        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"On {type} queues {requestId:N}" });
        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
    }
}
