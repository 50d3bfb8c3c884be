using System.Diagnostics.Metrics;
using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace EventImaging.IntegrationTests.Telemetry;

/// <summary>In-flight requests, the oldest one's age, and the outbox backlog are read from the ledger and exported as gauges.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class LedgerGaugesTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task The_gauges_count_unfinished_requests_and_unpublished_events()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Outbox:PublishLease"] = "00:01:00",
        }, output: output);
        var gauges = env.Receiver.Services.GetRequiredService<LedgerGauges>();
        var running = Guid.NewGuid();
        var finished = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = running, prompt = $"Runs forever [sim:never-finish] {running:N}" });
        await env.PublishJsonAsync(new { requestId = finished, prompt = $"Finishes {finished:N}" });
        await env.SubmittedAsync(running);
        await env.Events.TerminalAsync(finished);
        await env.MarkedPublishedAsync(finished);

        // A terminal row whose writer died before publishing: its event waits for the sweeper (lease 1 min here).
        var orphan = new ImageRequest
        {
            RequestId = Guid.NewGuid(), Provider = "evolink", Model = "gpt-image-1.5", CommandJson = "{}", State = RequestState.Failed, FinishedAt = DateTimeOffset.UtcNow,
            EventType = "ImageFailed", EventJson = "{}", Deadline = DateTimeOffset.UtcNow, LeaseOwner = LeaseOwners.Outbox, LeaseUntil = DateTimeOffset.UtcNow.AddMinutes(1),
        };
        Assert.True(await env.Receiver.Services.GetRequiredService<RequestRows>().TryInsertAsync(orphan, CancellationToken.None));

        var snapshot = await gauges.RefreshAsync(CancellationToken.None);
        await env.Submitter.Services.GetRequiredService<LedgerGauges>().RefreshAsync(CancellationToken.None);
        Assert.Equal(1, snapshot.InFlight);
        Assert.Equal(1, snapshot.Unpublished);
        Assert.Equal((await env.RowAsync(running))!.CreatedAt, snapshot.OldestCreatedAt);

        var observed = new Dictionary<string, double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RequestMetrics.MeterName && instrument.Name is "eventimaging.requests.in_flight" or "eventimaging.requests.oldest_in_flight_age" or "eventimaging.outbox.backlog")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((i, v, _, _) => observed[i.Name] = v);
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => observed[i.Name] = v);
        listener.Start();
        listener.RecordObservableInstruments();

        // Both in-process services report the same ledger, as every replica does.
        Assert.Equal(1, observed["eventimaging.requests.in_flight"]);
        Assert.Equal(1, observed["eventimaging.outbox.backlog"]);
        Assert.InRange(observed["eventimaging.requests.oldest_in_flight_age"], 0.001, 60);
    }
}
