using EventImaging.Contracts;
using EventImaging.Core.Ledger;
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
/// Bounded concurrency. Provider failures are not retried here: the ledger schedules them, so a long wait
/// neither holds the message nor is lost on restart. A ledger outage is retried in place for as long as it lasts
/// (growing intervals up to <see cref="LedgerRetryMaxInterval"/>): nothing can be recorded meanwhile, the message stays
/// unacknowledged (redelivered if this replica dies), and sending it to the error queue would lose the request. Any
/// other fault is not retried: it would fail the same way, so the message goes to the error queue at once.
/// </summary>
public sealed class GenerateImageConsumerDefinition : ConsumerDefinition<GenerateImageConsumer>
{
    /// <summary>The longest wait between two tries of a command while the ledger is unreachable.</summary>
    public static readonly TimeSpan LedgerRetryMaxInterval = TimeSpan.FromSeconds(10);

    public GenerateImageConsumerDefinition(IOptions<SubmitterOptions> options)
    {
        ConcurrentMessageLimit = options.Value.ConcurrentSubmissions;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<GenerateImageConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(LedgerFaults.IsUnavailable);
            retry.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(200), LedgerRetryMaxInterval, TimeSpan.FromMilliseconds(500));
        });
    }
}
