using EventImaging.Core.Messaging;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventImaging.Benchmarks.Sections;

/// <summary>What the reference receivers (<see cref="PlainReceiverServer"/>, <see cref="ComposedPartsServer"/>) share: no logging, a bare MassTransit bus on the run's broker, a readiness route.</summary>
internal static class ReferenceHost
{
    /// <summary>A web host for the process started with <paramref name="flag"/>, without logging, with a MassTransit bus on <c>ConnectionStrings:RabbitMq</c>.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, string flag)
    {
        var builder = WebApplication.CreateBuilder(args.Where(a => a != flag).ToArray());
        builder.Logging.ClearProviders();
        var broker = new Uri(builder.Configuration.GetConnectionString(MessageBusExtensions.RabbitMqConnection)
            ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq is not set."));
        builder.Services.AddMassTransit(x => x.UsingRabbitMq((_, cfg) => cfg.Host(broker)));
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        return builder;
    }

    /// <summary>Maps the readiness route the benchmark waits for and runs the host.</summary>
    public static Task RunAsync(WebApplication app)
    {
        app.MapGet("/health/ready", () => Results.Ok());
        return app.RunAsync();
    }
}
