using EventImaging.Core.Callbacks;
using EventImaging.Core.Messaging;
using EventImaging.Core.Requests;
using EventImaging.Core.Scheduling;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Submission;

public static class SubmissionExtensions
{
    /// <summary>
    /// The submitter role: consumes <c>GenerateImage</c>, answers an invalid one at once, and submits a valid one to a
    /// provider (<see cref="SubmitAttempt"/>, which also acts on the received rows <c>AddScheduler</c> claims).
    /// </summary>
    public static IHostApplicationBuilder AddSubmitter(this IHostApplicationBuilder builder)
    {
        builder.AddCallbackTokens();
        builder.AddSchedulingOptions();
        builder.Services.AddOptions<SubmitterOptions>().BindConfiguration(SubmitterOptions.Section)
            .Validate(o => o.ConcurrentSubmissions is > 0 and <= 1000, "Submitter:ConcurrentSubmissions must be between 1 and 1000.")
            .ValidateOnStart();
        builder.Services.AddOptions<RequestOptions>().BindConfiguration(RequestOptions.Section)
            .Validate(o => o.DefaultDeadline > TimeSpan.Zero, "Requests:DefaultDeadline must be positive.")
            .Validate(o => o.MaxDeadline >= o.DefaultDeadline, "Requests:MaxDeadline must be at least Requests:DefaultDeadline.")
            .ValidateOnStart();
        builder.Services.AddSingleton<RequestRouter>();
        builder.Services.AddSingleton<IValidator<RoutedCommand>, GenerateImageValidator>();
        builder.Services.AddSingleton<NewRows>();
        builder.Services.AddSingleton<SubmitLeases>();
        builder.Services.AddSingleton<Failover>();
        builder.Services.AddSingleton<InvalidCommands>();
        builder.Services.AddSingleton<SubmitAttempt>();
        builder.Services.AddSingleton<IDueRowHandler>(sp => sp.GetRequiredService<SubmitAttempt>());
        builder.Services.AddSingleton<SubmissionService>();
        builder.MessageBus().AddConsumer<GenerateImageConsumer, GenerateImageConsumerDefinition>();
        return builder;
    }
}
