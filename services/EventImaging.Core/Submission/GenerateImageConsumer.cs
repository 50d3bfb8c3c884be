using EventImaging.Contracts;
using EventImaging.Core.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>Consumes <see cref="GenerateImage"/>, from MassTransit publishers or as plain JSON.</summary>
public sealed class GenerateImageConsumer(SubmissionService submission) : IConsumer<GenerateImage>
{
    public Task Consume(ConsumeContext<GenerateImage> context) =>
        submission.HandleAsync(context.Message, context, context.CancellationToken);
}

/// <summary>
/// Bounded concurrency. Provider failures are not retried here: the ledger schedules them, so a long wait neither holds
/// the message nor is lost on restart. A ledger outage is retried in place (<see cref="LedgerOutageRetry"/>).
/// </summary>
public sealed class GenerateImageConsumerDefinition : ConsumerDefinition<GenerateImageConsumer>
{
    public GenerateImageConsumerDefinition(IOptions<SubmitterOptions> options)
    {
        ConcurrentMessageLimit = options.Value.ConcurrentSubmissions;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<GenerateImageConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseLedgerOutageRetry();
}
