using EventImaging.Core.Callbacks;
using EventImaging.Core.Messaging;
using EventImaging.Core.Polling;
using EventImaging.Core.Requests;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Submission;

public static class SubmissionExtensions
{
    /// <summary>The submitter role: consumes <c>GenerateImage</c> and submits it to a provider.</summary>
    public static IHostApplicationBuilder AddSubmitter(this IHostApplicationBuilder builder)
    {
        builder.AddCallbackTokens();
        builder.AddPollingOptions();
        builder.Services.AddOptions<SubmitterOptions>().BindConfiguration(SubmitterOptions.Section)
            .Validate(o => o.ConcurrentSubmissions is > 0 and <= 1000, "Submitter:ConcurrentSubmissions must be between 1 and 1000.")
            .ValidateOnStart();
        builder.Services.AddOptions<RequestOptions>().BindConfiguration(RequestOptions.Section)
            .Validate(o => o.DefaultDeadline > TimeSpan.Zero, "Requests:DefaultDeadline must be positive.")
            .Validate(o => o.MaxDeadline >= o.DefaultDeadline, "Requests:MaxDeadline must be at least Requests:DefaultDeadline.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton<WorkerIdentity>();
        builder.Services.AddScoped<RequestRouter>();
        builder.Services.AddScoped<IValidator<RoutedCommand>, GenerateImageValidator>();
        builder.Services.AddScoped<SubmissionService>();
        builder.MessageBus().AddConsumer<GenerateImageConsumer, GenerateImageConsumerDefinition>();
        return builder;
    }
}
