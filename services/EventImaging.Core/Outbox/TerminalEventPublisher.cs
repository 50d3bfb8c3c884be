using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Outbox;

/// <summary>
/// Publishes a terminal row's event after the transition committed, then marks the row. The event's
/// MessageId is the request id, so a republish (after a crash between publish and mark) is recognisable.
/// Its callers (a callback, the poller, the sweeper) never run inside a consumed message, so it publishes through
/// the bus itself: a scoped publish endpoint would have no consume context to link, and costs an execution
/// context switch on every publish.
/// </summary>
public sealed class TerminalEventPublisher(IBus publisher, LedgerBatches ledger, RequestHistory history, ILogger<TerminalEventPublisher> logger)
{
    /// <summary>Publishes the outcome just written and marks it; false (logged) when the broker did not take it, leaving the row to the sweeper.</summary>
    public Task<bool> PublishAsync(Guid requestId, TerminalOutcome outcome, CancellationToken cancellationToken) =>
        PublishAsync(requestId, outcome.EventType, outcome.Event, byItsWriter: true, cancellationToken);

    /// <summary>Publishes a stored terminal row's event and marks it; false when there is none or the broker did not take it.</summary>
    public Task<bool> PublishAsync(ImageRequest row, CancellationToken cancellationToken)
    {
        if (row is not { EventType: { } eventType, EventJson: { } eventJson })
        {
            return Task.FromResult(false);
        }

        object? message;
        try
        {
            message = eventType switch
            {
                nameof(ImageCompleted) => Deserialize<ImageCompleted>(eventJson),
                nameof(ImageFailed) => Deserialize<ImageFailed>(eventJson),
                _ => null,
            };
        }
        catch (JsonException ex)
        {
            LogPublishFailed(ex, eventType, row.RequestId);
            return Task.FromResult(false);
        }

        return PublishAsync(row.RequestId, eventType, message, byItsWriter: false, cancellationToken);
    }

    private async Task<bool> PublishAsync(Guid requestId, string eventType, object? message, bool byItsWriter, CancellationToken cancellationToken)
    {
        try
        {
            switch (message)
            {
                case ImageCompleted completed:
                    await PublishAsync(completed, requestId, cancellationToken);
                    break;
                case ImageFailed failed:
                    await PublishAsync(failed, requestId, cancellationToken);
                    break;
                default:
                    logger.LogError("Request {RequestId} holds an event of unknown type {EventType}; it is left unpublished", requestId, eventType);
                    return false;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogPublishFailed(ex, eventType, requestId);
            return false;
        }

        try
        {
            await ledger.MarkEventPublishedAsync(requestId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The event is out; the sweeper will publish it again with the same MessageId (at least once).
            logger.LogWarning(ex, "{EventType} for request {RequestId} was published but could not be marked; it may be published again", eventType, requestId);
            if (byItsWriter)
            {
                // The row's mark is the timeline's "published" step; without it, this first publish would not show.
                history.Record(requestId, HistoryKinds.Published, $"{eventType}; not marked, so the outbox sweeper may send it again");
            }
        }

        return true;
    }

    private async Task PublishAsync<T>(T message, Guid requestId, CancellationToken cancellationToken)
        where T : class =>
        await publisher.Publish(message, context =>
        {
            context.MessageId = MessageIds.Terminal(requestId);
            context.CorrelationId = requestId;
        }, cancellationToken);

    private void LogPublishFailed(Exception exception, string eventType, Guid requestId) =>
        logger.LogWarning(exception, "Publishing {EventType} for request {RequestId} failed; the outbox sweeper will retry", eventType, requestId);

    private static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, EventJson.Options) ?? throw new JsonException($"The stored {typeof(T).Name} is empty.");
}
