using System.Collections.Concurrent;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace EventImaging.IntegrationTests.Chaos;

/// <summary>One terminal event as the independent checker received it.</summary>
public sealed record CheckedEvent(string Type, Guid MessageId, Guid RequestId, string? Code, string? Message, DateTimeOffset ReceivedAt);

/// <summary>
/// The chaos suite's independent subscriber: a durable queue bound to the terminal events' exchanges, consumed over a
/// connection that recovers on its own, so broker restarts and outages lose none of what it counts.
/// </summary>
public sealed class TerminalEventChecker : IAsyncDisposable
{
    public const string ConnectionName = Pipeline.EventCollector.ConnectionName;
    private const string Queue = "chaos-terminal-events";

    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<CheckedEvent>> byRequest = new();
    private IConnection? connection;
    private IChannel? channel;

    public static async Task<TerminalEventChecker> StartAsync(Uri amqp)
    {
        var checker = new TerminalEventChecker();
        var factory = new ConnectionFactory
        {
            Uri = amqp,
            ClientProvidedName = ConnectionName,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
        };
        checker.connection = await factory.CreateConnectionAsync();
        checker.channel = await checker.connection.CreateChannelAsync();
        await checker.channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
        foreach (var type in new[] { "ImageCompleted", "ImageFailed" })
        {
            var exchange = $"EventImaging.Contracts:{type}";
            await checker.channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await checker.channel.QueueBindAsync(Queue, exchange, "");
        }

        var consumer = new AsyncEventingBasicConsumer(checker.channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            using var envelope = JsonDocument.Parse(delivery.Body);
            var message = envelope.RootElement.GetProperty("message");
            var type = delivery.Exchange[(delivery.Exchange.IndexOf(':', StringComparison.Ordinal) + 1)..];
            var requestId = message.GetProperty("requestId").GetGuid();
            var code = message.TryGetProperty("code", out var c) ? c.GetString() : null;
            var reason = message.TryGetProperty("message", out var m) ? m.GetString() : null;
            checker.byRequest.GetOrAdd(requestId, _ => new()).Enqueue(
                new CheckedEvent(type, envelope.RootElement.GetProperty("messageId").GetGuid(), requestId, code, reason, DateTimeOffset.UtcNow));
            await checker.channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await checker.channel.BasicConsumeAsync(Queue, autoAck: false, consumer);
        return checker;
    }

    public IReadOnlyList<CheckedEvent> For(Guid requestId) => byRequest.TryGetValue(requestId, out var events) ? [.. events] : [];

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
