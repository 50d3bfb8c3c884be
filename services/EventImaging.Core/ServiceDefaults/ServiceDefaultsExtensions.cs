using EventImaging.Core.Callbacks;
using EventImaging.Core.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EventImaging.Core.ServiceDefaults;

/// <summary>What every EventImaging service shares: telemetry, health endpoints, and log hygiene.</summary>
public static class ServiceDefaultsExtensions
{
    public const string LiveTag = "live";
    /// <summary>Health checks with this tag decide <c>/health/ready</c>: the features add theirs (the ledger, the broker).</summary>
    public const string ReadyTag = "ready";

    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        // Request paths of callbacks carry the callback token: keep ASP.NET Core's and HttpClient's
        // per-request lines (which print full URLs) out of the logs. Hosting.Diagnostics goes fully off: while
        // it is enabled at any level, ASP.NET Core opens a log scope holding RequestPath around every request,
        // and that scope would reach every line written during a callback (JSON console, OTLP).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<RequestMetrics>();
        builder.AddTelemetry();
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        // A registration a feature forgot stops start-up with its name, instead of failing the first request that needs it.
        builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
        return builder;
    }

    public static IEndpointRouteBuilder MapDefaultEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            // A degraded dependency (the bus reconnecting) is not ready to take work.
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return endpoints;
    }

    private static void AddTelemetry(this IHostApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            // Log records join the traces (trace and span ids) and carry their scope: requestId, provider, task id.
            .WithLogging(configureBuilder: null, configureOptions: logging =>
            {
                logging.IncludeScopes = true;
                logging.IncludeFormattedMessage = true;
            })
            .WithTracing(tracing => tracing
                .AddSource("MassTransit")
                .AddSource(RequestTracing.SourceName)
                .AddAspNetCoreInstrumentation(options =>
                {
                    options.Filter = context => !context.Request.Path.StartsWithSegments("/health");
                    options.EnrichWithHttpRequest = (activity, request) =>
                    {
                        if (request.Path.StartsWithSegments("/callbacks"))
                        {
                            activity.SetTag("url.path", CallbackEndpoints.RoutePattern);
                        }
                    };
                })
                .AddHttpClientInstrumentation(options =>
                    options.EnrichWithHttpRequestMessage = (activity, request) =>
                    {
                        if (request.RequestUri is { } uri && uri.AbsolutePath.Contains("/callbacks/", StringComparison.Ordinal))
                        {
                            activity.SetTag("url.full", $"{uri.GetLeftPart(UriPartial.Authority)}{CallbackEndpoints.RoutePattern}");
                        }
                    }))
            .WithMetrics(metrics => metrics
                .AddMeter("MassTransit")
                .AddMeter(RequestMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation());

        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
        {
            // Without OTEL_SERVICE_NAME, the service is named after its assembly rather than "unknown_service".
            telemetry.ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName));
        }

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        if (builder.Configuration.GetValue<bool>($"{TelemetryOptions.Section}:{nameof(TelemetryOptions.ConsoleExporter)}"))
        {
            // Local debugging: every span and metric printed to standard output (log lines already are).
            telemetry.WithTracing(tracing => tracing.AddConsoleExporter())
                .WithMetrics(metrics => metrics.AddConsoleExporter());
        }
    }
}
