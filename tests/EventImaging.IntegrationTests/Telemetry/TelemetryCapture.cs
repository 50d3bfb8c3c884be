using System.Collections.Concurrent;
using System.Diagnostics;
using EventImaging.IntegrationTests.Pipeline;
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
    // Each sink is written by the exporting thread while a test reads it: concurrent collections, not lists.
    private readonly ConcurrentQueue<Activity> spans = new();
    private readonly ConcurrentQueue<string> logs = new();
    private readonly ConcurrentDictionary<string, bool> metricLabels = new();
    private readonly List<MeterProvider> meterProviders = [];

    /// <summary>
    /// Spans come from process-wide ActivitySources: attach them and the metrics to one service only. A hook on the
    /// service's container, applied after its Program.cs has composed it.
    /// </summary>
    public void AttachSpansAndMetrics(IServiceCollection services)
    {
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(PipelineEnvironment.TestSource).AddProcessor(new SpanSink(spans)));
        services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddReader(new PeriodicExportingMetricReader(new MetricLabelSink(metricLabels))));
    }

    /// <summary>Log records are per service; production's levels (Information, Debug for EventImaging).</summary>
    public void AttachLogs(IServiceCollection services, ILoggingBuilder logging, string service)
    {
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("EventImaging", LogLevel.Debug);
        services.ConfigureOpenTelemetryLoggerProvider(provider => provider.AddProcessor(new LogText(service, logs)));
    }

    public void Started(IServiceProvider services)
    {
        if (services.GetService<MeterProvider>() is { } provider)
        {
            meterProviders.Add(provider);
        }
    }

    public IReadOnlyList<Activity> Spans() => [.. spans];

    public IReadOnlyList<string> LogLines() => [.. logs];

    /// <summary>Every metric name with each of its points' labels, as "name key=value".</summary>
    public IReadOnlyList<string> MetricLabels()
    {
        foreach (var provider in meterProviders)
        {
            provider.ForceFlush();
        }

        return [.. metricLabels.Keys];
    }

    /// <summary>Keeps every span as it ends.</summary>
    private sealed class SpanSink(ConcurrentQueue<Activity> sink) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            if (data.Recorded)
            {
                sink.Enqueue(data);
            }
        }
    }

    /// <summary>Keeps every metric point's labels as "name key=value", at each export.</summary>
    private sealed class MetricLabelSink(ConcurrentDictionary<string, bool> sink) : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch)
        {
            foreach (var metric in batch)
            {
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    foreach (var tag in point.Tags)
                    {
                        sink.TryAdd($"{metric.Name} {tag.Key}={tag.Value}", true);
                    }
                }
            }

            return ExportResult.Success;
        }
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
