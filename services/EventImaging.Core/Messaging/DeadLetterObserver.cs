using System.Text.Json;
using EventImaging.Core.Telemetry;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Messaging;

/// <summary>
/// Counts and logs every message that ends in an error queue: a command with no readable requestId (nobody to answer,
/// so it cannot get an ImageFailed), or one whose consumer failed for another reason than a ledger outage. Nothing of
/// the body is logged: it may hold a prompt. A consume cancelled by the transport (its broker connection closed, the
/// service stopping) reaches this observer too, but MassTransit leaves that message on its queue to be delivered
/// again: it is logged as such and not counted.
/// </summary>
public sealed partial class DeadLetterObserver(RequestMetrics metrics, ILogger<DeadLetterObserver> logger) : IReceiveObserver
{
    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
        where T : class => Task.CompletedTask;

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        if (IsCancelled(context, exception))
        {
            LogCancelled(context.InputAddress.AbsolutePath.TrimStart('/'));
            return Task.CompletedTask;
        }

        var unreadable = IsUnreadable(exception);
        metrics.DeadLettered(unreadable ? "unreadable" : "fault");
        LogDeadLettered(context.InputAddress.AbsolutePath.TrimStart('/'), unreadable ? "its body could not be read" : exception.GetType().Name);
        return Task.CompletedTask;
    }

    /// <summary>MassTransit's own rule for a cancelled consume (left on its queue): the exception or its base one.</summary>
    private static bool IsCancelled(ReceiveContext context, Exception exception) =>
        context.CancellationToken.IsCancellationRequested
        && (exception is OperationCanceledException || exception.GetBaseException() is OperationCanceledException);

    private static bool IsUnreadable(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is System.Runtime.Serialization.SerializationException or JsonException)
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "A message on {Queue} was cancelled while it was consumed (the broker connection closed or the service is stopping); it stays on its queue and is delivered again")]
    private partial void LogCancelled(string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A message on {Queue} goes to its error queue: {Reason}")]
    private partial void LogDeadLettered(string queue, string reason);
}
