using System.Collections.Concurrent;
using System.Diagnostics;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EventImaging.IntegrationTests.Telemetry;

/// <summary>
/// Everything the services export, caught by in-memory exporters plugged into their own OpenTelemetry
/// pipelines: spans (process-wide), every log record of each service with its scopes, and every metric.
/// </summary>
public sealed class TelemetryCapture
{
    private readonly List<Activity> spans = [];
    private readonly ConcurrentQueue<string> logs = new();
    private readonly List<Metric> metrics = [];
    private readonly List<MeterProvider> meterProviders = [];

    /// <summary>Spans come from process-wide ActivitySources: attach them and the metrics to one service only.</summary>
    public void AttachSpansAndMetrics(WebApplicationBuilder builder)
    {
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(PipelineEnvironment.TestSource).AddInMemoryExporter(spans));
        builder.Services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
    }

    /// <summary>Log records are per service; production's levels (Information, Debug for EventImaging).</summary>
    public void AttachLogs(WebApplicationBuilder builder, string service)
    {
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("EventImaging", LogLevel.Debug);
        builder.Services.ConfigureOpenTelemetryLoggerProvider(logging => logging.AddProcessor(new LogText(service, logs)));
    }

    public void Started(IServiceProvider services)
    {
        if (services.GetService<MeterProvider>() is { } provider)
        {
            meterProviders.Add(provider);
        }
    }

    public IReadOnlyList<Activity> Spans()
    {
        lock (spans)
        {
            return [.. spans];
        }
    }

    public IReadOnlyList<string> LogLines() => [.. logs];

    /// <summary>Every metric name with each of its points' labels, as "name key=value".</summary>
    public IReadOnlyList<string> MetricLabels()
    {
        foreach (var provider in meterProviders)
        {
            provider.ForceFlush();
        }

        var labels = new List<string>();
        lock (metrics)
        {
            foreach (var metric in metrics)
            {
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    foreach (var tag in point.Tags)
                    {
                        labels.Add($"{metric.Name} {tag.Key}={tag.Value}");
                    }
                }
            }
        }

        return labels;
    }

    /// <summary>Flattens each record at export time: message, attributes, scopes and exception.</summary>
    private sealed class LogText(string service, ConcurrentQueue<string> sink) : BaseProcessor<LogRecord>
    {
        public override void OnEnd(LogRecord data)
        {
            var parts = new List<string> { service, data.CategoryName ?? "", data.FormattedMessage ?? data.Body ?? "" };
            parts.AddRange(data.Attributes?.Select(a => $"{a.Key}={a.Value}") ?? []);
            data.ForEachScope(
                (scope, list) =>
                {
                    foreach (var field in scope)
                    {
                        list.Add($"{field.Key}={field.Value}");
                    }
                },
                parts);
            if (data.Exception is { } exception)
            {
                parts.Add(exception.ToString());
            }

            sink.Enqueue(string.Join(" | ", parts));
        }
    }
}
