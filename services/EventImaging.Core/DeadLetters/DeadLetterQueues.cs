using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace EventImaging.Core.DeadLetters;

/// <summary>
/// The error queues of the <see cref="CommandQueue"/>s on RabbitMQ, over a connection of their own: count, look at
/// (without taking), replay to the command queue, and purge. A replayed message is acknowledged in the error queue
/// only after the broker confirmed its copy in the command queue, so a failure anywhere leaves it where it was
/// (at worst delivered twice; the commands are idempotent on their requestId). Bodies are never logged.
/// </summary>
public sealed partial class DeadLetterQueues(Uri broker, ILogger<DeadLetterQueues> logger) : IAsyncDisposable
{
    /// <summary>Most messages one listing returns.</summary>
    public const int MaxTake = 100;

    public const int DefaultTake = 20;

    /// <summary>
    /// Most messages a replay by id looks through, each held unacknowledged until it ends: it finds what a listing
    /// showed, not a message deep in a backlog of millions.
    /// </summary>
    public const int MaxScan = 10_000;

    private const ushort NotFound = 404;

    private static readonly CreateChannelOptions Confirmed = new(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);

    private readonly SemaphoreSlim gate = new(1, 1);
    private IConnection? connection;

    /// <summary>Messages ready in the queue's error queue; 0 when it does not exist (nothing has failed yet).</summary>
    public async Task<uint> CountAsync(CommandQueue queue, CancellationToken cancellationToken)
    {
        await using var channel = await ChannelAsync(null, cancellationToken);
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue.ErrorQueue, cancellationToken)).MessageCount;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
        {
            return 0;
        }
    }

    /// <summary>
    /// The first <paramref name="take"/> messages of the error queue, left in place: each is fetched without an
    /// acknowledgement and handed back when the channel closes, so RabbitMQ puts it back where it was (marked
    /// redelivered; on a quorum queue the look counts as a delivery).
    /// </summary>
    public async Task<IReadOnlyList<DeadLetter>> PeekAsync(CommandQueue queue, int take, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(take);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(take, MaxTake);
        var messages = new List<DeadLetter>(take);
        await using var channel = await ChannelAsync(null, cancellationToken);
        try
        {
            while (messages.Count < take && await channel.BasicGetAsync(queue.ErrorQueue, autoAck: false, cancellationToken) is { } message)
            {
                messages.Add(DeadLetterFormat.Describe(message.BasicProperties, message.Body.Span));
            }
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
        {
            // No error queue yet: nothing has been dead-lettered.
        }

        await CloseAsync(channel);
        return messages;
    }

    /// <summary>
    /// Sends the message <paramref name="id"/> back to its command queue, with <paramref name="replacement"/> as its body
    /// when given (an operator's fixed command, plain JSON), and removes it from the error queue. False when no
    /// message of that id is among the first <see cref="MaxScan"/>.
    /// </summary>
    public async Task<bool> ReplayAsync(CommandQueue queue, string id, ReadOnlyMemory<byte>? replacement, CancellationToken cancellationToken)
    {
        await using var channel = await ChannelAsync(Confirmed, cancellationToken);
        var found = false;
        try
        {
            for (var scanned = 0; scanned < MaxScan; scanned++)
            {
                if (await channel.BasicGetAsync(queue.ErrorQueue, autoAck: false, cancellationToken) is not { } message)
                {
                    break;
                }

                if (DeadLetterFormat.IdOf(message.BasicProperties.MessageId, message.Body.Span) == id)
                {
                    await MoveAsync(channel, queue, message, replacement, cancellationToken);
                    found = true;
                    break;
                }
            }
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
        {
            // No error queue yet: the id cannot be in it.
        }

        // Every other message fetched on the way goes back in place.
        await CloseAsync(channel);
        if (found)
        {
            LogReplayedOne(queue.ErrorQueue, queue.Name, id, replacement is not null);
        }

        return found;
    }

    /// <summary>
    /// Sends every message the error queue held when it began back to the command queue, in order, and returns how many.
    /// Messages that fail again while it runs land behind those and are not replayed twice by the same call.
    /// </summary>
    public async Task<int> ReplayAllAsync(CommandQueue queue, CancellationToken cancellationToken)
    {
        var depth = await CountAsync(queue, cancellationToken);
        var replayed = 0;
        await using var channel = await ChannelAsync(Confirmed, cancellationToken);
        try
        {
            while (replayed < depth && await channel.BasicGetAsync(queue.ErrorQueue, autoAck: false, cancellationToken) is { } message)
            {
                await MoveAsync(channel, queue, message, null, cancellationToken);
                replayed++;
            }
        }
        catch (Exception ex) when (replayed > 0)
        {
            LogReplayInterrupted(ex, replayed, queue.ErrorQueue, queue.Name);
            throw;
        }

        await CloseAsync(channel);
        LogReplayedAll(replayed, queue.ErrorQueue, queue.Name);
        return replayed;
    }

    /// <summary>Removes every ready message of the error queue and returns how many.</summary>
    public async Task<uint> PurgeAsync(CommandQueue queue, CancellationToken cancellationToken)
    {
        uint purged;
        await using (var channel = await ChannelAsync(null, cancellationToken))
        {
            try
            {
                purged = await channel.QueuePurgeAsync(queue.ErrorQueue, cancellationToken);
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
            {
                purged = 0;
            }
        }

        LogPurged(purged, queue.ErrorQueue);
        return purged;
    }

    public async ValueTask DisposeAsync()
    {
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }

        gate.Dispose();
    }

    /// <summary>
    /// Publishes the copy through the default exchange straight to the command queue (mandatory: a queue that does not
    /// exist returns it, which throws), waits for the broker's confirm, and only then acknowledges the error queue's message.
    /// </summary>
    private static async Task MoveAsync(IChannel channel, CommandQueue queue, BasicGetResult message, ReadOnlyMemory<byte>? replacement, CancellationToken cancellationToken)
    {
        var properties = DeadLetterFormat.ForReplay(message.BasicProperties, replacement is not null);
        await channel.BasicPublishAsync(exchange: string.Empty, routingKey: queue.Name, mandatory: true, properties, replacement ?? message.Body, cancellationToken);
        await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
    }

    private static async Task CloseAsync(IChannel channel)
    {
        if (channel.IsOpen)
        {
            // Not cancellable: a channel left half-closed would keep its unacknowledged messages until the connection ends.
            await channel.CloseAsync(CancellationToken.None);
        }
    }

    private async Task<IChannel> ChannelAsync(CreateChannelOptions? options, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (connection is not { IsOpen: true })
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }

                connection = null;
                var factory = new ConnectionFactory
                {
                    Uri = broker,
                    AutomaticRecoveryEnabled = false,
                    ClientProvidedName = "eventimaging-dead-letters",
                    RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
                };
                connection = await factory.CreateConnectionAsync(cancellationToken);
            }

            return await connection.CreateChannelAsync(options, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed {Count} message(s) from {ErrorQueue} to {Queue}")]
    private partial void LogReplayedAll(int count, string errorQueue, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed 1 message ({MessageId}) from {ErrorQueue} to {Queue}; body replaced: {Replaced}")]
    private partial void LogReplayedOne(string errorQueue, string queue, string messageId, bool replaced);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replay from {ErrorQueue} to {Queue} stopped after {Count} message(s); the rest stay in the error queue")]
    private partial void LogReplayInterrupted(Exception ex, int count, string errorQueue, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} message(s) from {ErrorQueue}")]
    private partial void LogPurged(uint count, string errorQueue);
}
