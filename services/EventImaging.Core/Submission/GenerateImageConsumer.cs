using EventImaging.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>Consumes <see cref="GenerateImage"/>, from MassTransit publishers or as plain JSON.</summary>
public sealed class GenerateImageConsumer(SubmissionService submission, IOptions<SubmitterOptions> options) : IConsumer<GenerateImage>
{
    public Task Consume(ConsumeContext<GenerateImage> context)
    {
        var finalAttempt = context.GetRetryAttempt() >= options.Value.TransientRetryIntervals.Length;
        return submission.HandleAsync(context.Message, finalAttempt, context.CancellationToken);
    }
}

/// <summary>Endpoint settings: bounded concurrency, and redelivery only for transient provider failures.</summary>
public sealed class GenerateImageConsumerDefinition : ConsumerDefinition<GenerateImageConsumer>
{
    private readonly SubmitterOptions options;

    public GenerateImageConsumerDefinition(IOptions<SubmitterOptions> options)
    {
        this.options = options.Value;
        ConcurrentMessageLimit = this.options.ConcurrentSubmissions;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<GenerateImageConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<Providers.ProviderException>(ex => ex.Kind == Providers.ProviderFailureKind.Transient);
            retry.Handle<SubmissionBusyException>();
            retry.Intervals(options.TransientRetryIntervals);
        });
    }
}
