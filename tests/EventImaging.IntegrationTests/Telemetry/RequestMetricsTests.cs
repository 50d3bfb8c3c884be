using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EventImaging.Contracts;
using EventImaging.IntegrationTests.Pipeline;

namespace EventImaging.IntegrationTests.Telemetry;

/// <summary>Requests are counted by provider, model, completion path and failure code, with no high-cardinality label.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class RequestMetricsTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, string?> Tags);

    [Fact]
    public async Task Outcomes_and_provider_calls_are_measured_with_low_cardinality_labels()
    {
        var measurements = new ConcurrentQueue<Measurement>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "EventImaging")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue(new(i.Name, v, Labels(tags))));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => measurements.Enqueue(new(i.Name, v, Labels(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue(new(i.Name, v, Labels(tags))));
        listener.Start();

        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = PipelineEnvironment.FirstPollGraceForBothPaths,
        }, output: output);
        var called = Guid.NewGuid();
        var polled = Guid.NewGuid();
        var invalid = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = called, prompt = $"Called back {called:N}" });
        await env.PublishJsonAsync(new { requestId = polled, prompt = $"Polled [sim:no-callback] {polled:N}" });
        await env.PublishJsonAsync(new { requestId = invalid, prompt = "" });
        foreach (var id in new[] { called, polled, invalid })
        {
            await env.Events.TerminalAsync(id);
        }

        // The Submitter counts a submission; nothing orders that against the Receiver's terminal event.
        await Eventually.UntilAsync(
            () => Task.FromResult(measurements.Count(m => m.Instrument == "eventimaging.requests.submitted") >= 2),
            TimeSpan.FromSeconds(10),
            "both submissions to be counted");
        var all = measurements.ToArray();
        Assert.Contains(all, m => m.Instrument == "eventimaging.requests.completed" && m.Tags["completion_path"] == CompletionPaths.Callback && m.Tags["provider"] == "evolink" && m.Tags["model"] == "gpt-image-1.5");
        Assert.Contains(all, m => m.Instrument == "eventimaging.requests.completed" && m.Tags["completion_path"] == CompletionPaths.Poll);
        Assert.Contains(all, m => m.Instrument == "eventimaging.requests.failed" && m.Tags["code"] == FailureCodes.InvalidRequest);
        Assert.Equal(2, all.Count(m => m.Instrument == "eventimaging.requests.submitted"));
        Assert.Contains(all, m => m.Instrument == "eventimaging.provider.call.duration" && m.Tags["operation"] == "create" && m.Tags["outcome"] == "ok");
        Assert.Contains(all, m => m.Instrument == "eventimaging.provider.call.duration" && m.Tags["operation"] == "query" && m.Tags["outcome"] == "ok");
        Assert.Contains(all, m => m.Instrument == "eventimaging.request.duration" && m.Value > 0);
        Assert.Contains(all, m => m.Instrument == "eventimaging.request.polls" && m.Value >= 1);

        var ids = new[] { called, polled, invalid }.SelectMany(id => new[] { id.ToString(), id.ToString("N") }).ToArray();
        Assert.DoesNotContain(all.SelectMany(m => m.Tags.Values), value => value is not null && ids.Any(id => value.Contains(id, StringComparison.Ordinal)));
    }

    private static Dictionary<string, string?> Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = new Dictionary<string, string?>();
        foreach (var tag in tags)
        {
            labels[tag.Key] = tag.Value?.ToString();
        }

        return labels;
    }
}
