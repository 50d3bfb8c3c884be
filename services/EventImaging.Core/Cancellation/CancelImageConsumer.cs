using EventImaging.Contracts;
using EventImaging.Core.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Cancellation;

/// <summary>Consumes <see cref="CancelImage"/>, from MassTransit publishers or as plain JSON.</summary>
public sealed partial class CancelImageConsumer(RequestCanceller canceller, ILogger<CancelImageConsumer> logger) : IConsumer<CancelImage>
{
    public const string By = "the caller";

    public async Task Consume(ConsumeContext<CancelImage> context)
    {
        if (context.Message.RequestId == Guid.Empty)
        {
            // Nothing names a request, so nothing can be cancelled and nobody can be answered.
            LogNoRequestId();
            return;
        }

        await canceller.CancelAsync(context.Message.RequestId, context.Message.Reason, By, context.CancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A CancelImage without a requestId names no request; nothing is cancelled")]
    private partial void LogNoRequestId();
}

/// <summary>A ledger outage is retried in place for as long as it lasts, as for <c>GenerateImage</c>; anything else goes to the error queue.</summary>
public sealed class CancelImageConsumerDefinition : ConsumerDefinition<CancelImageConsumer>
{
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<CancelImageConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseLedgerOutageRetry();
}
