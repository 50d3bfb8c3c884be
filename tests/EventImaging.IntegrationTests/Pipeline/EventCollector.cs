using System.Collections.Concurrent;
using System.Text.Json;
using EventImaging.IntegrationTests.Infrastructure;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>One event as a subscriber in any language sees it: the exchange it came from, its MessageId, its body.</summary>
public sealed record CollectedEvent(string Type, Guid MessageId, JsonElement Message, int BodyBytes)
{
    public Guid RequestId => Message.GetProperty("requestId").GetGuid();

    public string Text(string name) => Message.GetProperty(name).GetString()!;
}

/// <summary>
/// Subscribes to EventImaging's events with plain RabbitMQ.Client, bound to the exchanges
/// <c>EventImaging.Contracts:ImageSubmitted|ImageCompleted|ImageFailed</c>, and reads MassTransit's JSON envelope.
/// </summary>
public sealed class EventCollector : IAsyncDisposable
{
    public static readonly string[] EventTypes = ["ImageSubmitted", "ImageCompleted", "ImageFailed"];

    /// <summary>The collector's connection name: a simulated broker outage spares it, so the test sees every event.</summary>
    public const string ConnectionName = "event-collector";

    private readonly ConcurrentQueue<CollectedEvent> events = new();
    private IConnection? connection;
    private IChannel? channel;

    public IReadOnlyList<CollectedEvent> All => [.. events];

    public static async Task<EventCollector> StartAsync(Uri amqp)
    {
        var collector = new EventCollector();
        collector.connection = await new ConnectionFactory { Uri = amqp, ClientProvidedName = ConnectionName }.CreateConnectionAsync();
        collector.channel = await collector.connection.CreateChannelAsync();
        var queue = await collector.channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true);
        foreach (var type in EventTypes)
        {
            var exchange = $"EventImaging.Contracts:{type}";
            await collector.channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await collector.channel.QueueBindAsync(queue.QueueName, exchange, "");
        }

        var consumer = new AsyncEventingBasicConsumer(collector.channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            using var envelope = JsonDocument.Parse(delivery.Body);
            var type = delivery.Exchange[(delivery.Exchange.IndexOf(':', StringComparison.Ordinal) + 1)..];
            collector.events.Enqueue(new CollectedEvent(
                type,
                envelope.RootElement.GetProperty("messageId").GetGuid(),
                envelope.RootElement.GetProperty("message").Clone(),
                delivery.Body.Length));
            return Task.CompletedTask;
        };
        await collector.channel.BasicConsumeAsync(queue.QueueName, autoAck: true, consumer);
        return collector;
    }

    public IReadOnlyList<CollectedEvent> For(Guid requestId) => [.. events.Where(e => e.RequestId == requestId)];

    public IReadOnlyList<CollectedEvent> TerminalFor(Guid requestId) =>
        [.. For(requestId).Where(e => e.Type is "ImageCompleted" or "ImageFailed")];

    /// <summary>
    /// The request's one terminal event, failing when there is none or two different ones. A copy of the same type,
    /// <c>MessageId</c> and body is the same event sent again: the outbox sweeper republishes the stored event when a
    /// writer stalls past its publish lease between committing and marking, which a loaded machine can do. A second
    /// transition would carry its own time (<c>completedAt</c>, <c>failedAt</c>), so it still fails here.
    /// </summary>
    public CollectedEvent SingleTerminalFor(Guid requestId)
    {
        var terminal = TerminalFor(requestId);
        Assert.NotEmpty(terminal);
        var first = terminal[0];
        Assert.All(terminal, e => Assert.True(
            e.Type == first.Type && e.MessageId == first.MessageId && JsonElement.DeepEquals(e.Message, first.Message),
            $"two different terminal events for request {requestId}: {first.Type} {first.Message} and {e.Type} {e.Message}"));
        return first;
    }

    /// <summary>Waits for the request's first terminal event.</summary>
    public async Task<CollectedEvent> TerminalAsync(Guid requestId, TimeSpan? timeout = null)
    {
        await Eventually.UntilAsync(
            () => Task.FromResult(TerminalFor(requestId).Count > 0),
            timeout ?? TimeSpan.FromSeconds(30),
            $"a terminal event for request {requestId}");
        return TerminalFor(requestId)[0];
    }

    /// <summary>
    /// Waits for the request's ImageSubmitted. It comes from the Submitter and the terminal event from the Receiver, so
    /// nothing orders the two: a test that has the terminal event waits for this one too.
    /// </summary>
    public async Task<CollectedEvent> SubmittedAsync(Guid requestId, TimeSpan? timeout = null)
    {
        await Eventually.UntilAsync(
            () => Task.FromResult(For(requestId).Any(e => e.Type == "ImageSubmitted")),
            timeout ?? TimeSpan.FromSeconds(10),
            $"the submitted event of request {requestId}");
        return For(requestId).First(e => e.Type == "ImageSubmitted");
    }

    public async ValueTask DisposeAsync()
    {
        if (channel is not null)
        {
            await channel.DisposeAsync();
        }

        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }
}
