using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EventImaging.Core.DeadLetters;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;

namespace EventImaging.IntegrationTests.Operations;

/// <summary>
/// Operators see the commands MassTransit moved to <c>generate-image_error</c>, with the reason it recorded, and replay
/// them (fixed or as they are) or purge them, through the WebhookReceiver's operator API, on real RabbitMQ and PostgreSQL.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class DeadLetterTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private const string Key = "dead-letter-key";

    [Fact]
    public async Task A_dead_lettered_command_that_is_then_fixed_and_replayed_completes_and_leaves_the_error_queue()
    {
        await using var env = await StartAsync();
        var requestId = Guid.NewGuid();
        // A publisher's bug: a missing comma, so there is no requestId to answer and the command is dead-lettered.
        await env.PublishRawAsync($$"""{"requestId":"{{requestId}}" "prompt":"Fixed later {{requestId:N}}"}""");
        await Eventually.UntilAsync(async () => await env.ErrorQueueDepthAsync() == 1, TimeSpan.FromSeconds(15), "the broken command to reach generate-image_error");

        var summary = await GetJsonAsync(env, "/operator/dead-letters");
        output.WriteLine($"GET /operator/dead-letters: {summary}");
        Assert.Equal(
            [("generate-image", 1u), ("cancel-image", 0u)],
            summary.GetProperty("queues").EnumerateArray().Select(q => (q.GetProperty("queue").GetString(), q.GetProperty("count").GetUInt32())));

        var listing = await GetJsonAsync(env, "/operator/dead-letters/generate-image");
        output.WriteLine($"GET /operator/dead-letters/generate-image: {listing}");
        var message = Assert.Single(listing.GetProperty("messages").EnumerateArray());
        var id = message.GetProperty("id").GetString()!;
        Assert.StartsWith(DeadLetterFormat.BodyIdPrefix, id, StringComparison.Ordinal);
        var fault = message.GetProperty("fault");
        Assert.Equal("fault", fault.GetProperty("reason").GetString());
        Assert.False(string.IsNullOrWhiteSpace(fault.GetProperty("exceptionType").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(fault.GetProperty("message").GetString()));
        Assert.Equal("application/json", message.GetProperty("contentType").GetString());
        Assert.Contains(requestId.ToString(), message.GetProperty("bodyPreview").GetString(), StringComparison.Ordinal);
        Assert.False(message.GetProperty("previewTruncated").GetBoolean());

        // Looking did not take it: the same message, still there, with the same id.
        Assert.Equal(1u, await env.ErrorQueueDepthAsync());
        var again = await GetJsonAsync(env, "/operator/dead-letters/generate-image?take=5");
        Assert.Equal(id, again.GetProperty("messages")[0].GetProperty("id").GetString());

        var gauge = env.Receiver.Services.GetRequiredService<DeadLetterGauge>();
        Assert.Equal(1u, (await gauge.RefreshAsync(CancellationToken.None))[CommandQueue.GenerateImage]);
        Assert.Equal(
            new Dictionary<string, long> { ["generate-image_error"] = 1, ["cancel-image_error"] = 0 },
            ObservedDepths(env.Receiver.Services.GetRequiredService<IMeterFactory>()));

        // A fixed body that is still not a command object is refused, and nothing moves.
        using (var notAnObject = await SendAsync(env, HttpMethod.Post, $"/operator/dead-letters/generate-image/{id}/replay", Key, "[1,2]"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notAnObject.StatusCode);
        }

        Assert.Equal(1u, await env.ErrorQueueDepthAsync());

        var fixedBody = $$"""{"requestId":"{{requestId}}","prompt":"Fixed later {{requestId:N}}"}""";
        using (var replay = await SendAsync(env, HttpMethod.Post, $"/operator/dead-letters/generate-image/{id}/replay", Key, fixedBody))
        {
            Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
            var answer = await replay.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(answer.GetProperty("bodyReplaced").GetBoolean());
        }

        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
        Assert.Equal(0u, await env.ErrorQueueDepthAsync());
        Assert.Empty((await GetJsonAsync(env, "/operator/dead-letters/generate-image")).GetProperty("messages").EnumerateArray());
        Assert.Equal(0u, (await gauge.RefreshAsync(CancellationToken.None))[CommandQueue.GenerateImage]);

        using var gone = await SendAsync(env, HttpMethod.Post, $"/operator/dead-letters/generate-image/{id}/replay", Key);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Replay_all_sends_every_message_back_in_order_and_purge_empties_the_queue_for_a_caller_with_the_key_only()
    {
        await using var env = await StartAsync();
        await env.PublishRawAsync("not json at all");
        await Eventually.UntilAsync(async () => await env.ErrorQueueDepthAsync() == 1, TimeSpan.FromSeconds(15), "the unreadable command to reach generate-image_error");

        // Two good commands whose consumer failed before a bug fix, as MassTransit leaves them: in the error queue with its
        // fault headers, one of them with a message-id.
        var good = new[] { Guid.NewGuid(), Guid.NewGuid() };
        await PutInErrorQueueAsync(env, $$"""{"requestId":"{{good[0]}}","prompt":"Replayed {{good[0]:N}}"}""", messageId: null);
        await PutInErrorQueueAsync(env, $$"""{"requestId":"{{good[1]}}","prompt":"Replayed {{good[1]:N}}"}""", messageId: "9f0c2b1e-7d1a-4a61-9a4e-0c1f6e3b2a55");
        Assert.Equal(3u, await env.ErrorQueueDepthAsync());

        var listing = await GetJsonAsync(env, "/operator/dead-letters/generate-image?take=2");
        Assert.Equal(3u, listing.GetProperty("count").GetUInt32());
        var shown = listing.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, shown.Count);
        Assert.Equal("not json at all", shown[0].GetProperty("bodyPreview").GetString());
        Assert.Equal(DeadLetterFormat.IdOf(null, Encoding.UTF8.GetBytes($$"""{"requestId":"{{good[0]}}","prompt":"Replayed {{good[0]:N}}"}""")), shown[1].GetProperty("id").GetString());
        Assert.Equal("9f0c2b1e-7d1a-4a61-9a4e-0c1f6e3b2a55", (await GetJsonAsync(env, "/operator/dead-letters/generate-image?take=100")).GetProperty("messages")[2].GetProperty("id").GetString());

        // Without the key, with a wrong key: nothing is shown or moved.
        foreach (var (method, path) in new[]
                 {
                     (HttpMethod.Get, "/operator/dead-letters"),
                     (HttpMethod.Get, "/operator/dead-letters/generate-image"),
                     (HttpMethod.Post, "/operator/dead-letters/generate-image/replay"),
                     (HttpMethod.Delete, "/operator/dead-letters/generate-image"),
                 })
        {
            using var anonymous = await SendAsync(env, method, path, key: null);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using var wrong = await SendAsync(env, method, path, key: Key + "x");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        Assert.Equal(3u, await env.ErrorQueueDepthAsync());

        // Only the known queues can be addressed, and take is bounded.
        foreach (var (method, path) in new[]
                 {
                     (HttpMethod.Get, "/operator/dead-letters/image-completed"),
                     (HttpMethod.Get, "/operator/dead-letters/generate-image_error"),
                     (HttpMethod.Post, "/operator/dead-letters/other-queue/replay"),
                     (HttpMethod.Delete, "/operator/dead-letters/other-queue"),
                 })
        {
            using var unknown = await SendAsync(env, method, path, Key);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Contains("not a command queue", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString(), StringComparison.Ordinal);
        }

        foreach (var take in new[] { "0", "101", "-1", "many" })
        {
            using var bad = await SendAsync(env, HttpMethod.Get, $"/operator/dead-letters/generate-image?take={take}", Key);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using (var unknownId = await SendAsync(env, HttpMethod.Post, "/operator/dead-letters/generate-image/no-such-id/replay", Key))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknownId.StatusCode);
        }

        Assert.Equal(3u, await env.ErrorQueueDepthAsync());

        using (var replayAll = await SendAsync(env, HttpMethod.Post, "/operator/dead-letters/generate-image/replay", Key))
        {
            Assert.Equal(HttpStatusCode.OK, replayAll.StatusCode);
            Assert.Equal(3, (await replayAll.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());
        }

        foreach (var requestId in good)
        {
            Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
        }

        // The unreadable one is read again, fails again, and is back: replayed as it is, it cannot do better.
        await Eventually.UntilAsync(async () => await env.ErrorQueueDepthAsync() == 1, TimeSpan.FromSeconds(15), "the unreadable command to be dead-lettered again");
        Assert.Equal("not json at all", (await GetJsonAsync(env, "/operator/dead-letters/generate-image")).GetProperty("messages")[0].GetProperty("bodyPreview").GetString());

        using (var purge = await SendAsync(env, HttpMethod.Delete, "/operator/dead-letters/generate-image", Key))
        {
            Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
            Assert.Equal(1u, (await purge.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("purged").GetUInt32());
        }

        Assert.Equal(0u, await env.ErrorQueueDepthAsync());

        // The cancel-image error queue does not exist yet: it counts 0, lists nothing, replays and purges nothing.
        Assert.Empty((await GetJsonAsync(env, "/operator/dead-letters/cancel-image")).GetProperty("messages").EnumerateArray());
        using (var none = await SendAsync(env, HttpMethod.Post, "/operator/dead-letters/cancel-image/replay", Key))
        {
            Assert.Equal(0, (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());
        }

        using var nothing = await SendAsync(env, HttpMethod.Delete, "/operator/dead-letters/cancel-image", Key);
        Assert.Equal(0u, (await nothing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("purged").GetUInt32());
    }

    [Fact]
    public async Task A_replay_the_broker_cannot_deliver_leaves_the_message_in_the_error_queue()
    {
        // A command queue nobody declared: the broker returns the copy, so the original must stay.
        var broker = await rabbitMq.CreateVirtualHostAsync();
        var nowhere = new CommandQueue("no-consumer-yet", "Nothing");
        await using (var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync(nowhere.ErrorQueue, durable: true, exclusive: false, autoDelete: false);
        }

        await PutInErrorQueueAsync(broker, nowhere.ErrorQueue, """{"requestId":"3b0c8a51-6f0e-4c56-8a57-1d1b7f0f2f10"}""", messageId: "kept-1");
        await PutInErrorQueueAsync(broker, nowhere.ErrorQueue, """{"requestId":"a4d2f3c7-0b9e-4e21-9c3d-5e6f7a8b9c0d"}""", messageId: "kept-2");
        await using var queues = new DeadLetterQueues(broker, NullLogger<DeadLetterQueues>.Instance);

        await Assert.ThrowsAnyAsync<RabbitMQ.Client.Exceptions.PublishException>(() => queues.ReplayAsync(nowhere, "kept-2", null, CancellationToken.None));
        await Assert.ThrowsAnyAsync<RabbitMQ.Client.Exceptions.PublishException>(() => queues.ReplayAllAsync(nowhere, CancellationToken.None));

        Assert.Equal(2u, await queues.CountAsync(nowhere, CancellationToken.None));
        Assert.Equal(["kept-1", "kept-2"], (await queues.PeekAsync(nowhere, 10, CancellationToken.None)).Select(m => m.Id));
    }

    /// <summary>What the receiver's <c>eventimaging.commands.dead_letter_depth</c> reports, by its <c>queue</c> label.</summary>
    private static Dictionary<string, long> ObservedDepths(IMeterFactory receiverMeters)
    {
        var observed = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Only the receiver's own meter: other services of this process report their own queues.
                if (instrument.Meter.Scope == receiverMeters && instrument.Name == "eventimaging.commands.dead_letter_depth")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "queue")
                {
                    observed[(string)tag.Value!] = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return observed;
    }

    private Task<PipelineEnvironment> StartAsync() =>
        PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?> { ["Operator:ApiKey"] = Key }, output: output);

    /// <summary>Puts a message straight into <c>generate-image_error</c> with the headers MassTransit writes when it moves one.</summary>
    private static Task PutInErrorQueueAsync(PipelineEnvironment env, string body, string? messageId) =>
        PutInErrorQueueAsync(env.Broker, "generate-image_error", body, messageId);

    private static async Task PutInErrorQueueAsync(Uri broker, string errorQueue, string body, string? messageId)
    {
        await using var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var properties = new BasicProperties
        {
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = messageId,
            Headers = new Dictionary<string, object?>
            {
                ["MT-Reason"] = "fault",
                ["MT-Fault-ExceptionType"] = "System.InvalidOperationException",
                ["MT-Fault-Message"] = "A bug, since fixed",
                ["MT-Host-MachineName"] = "a-replica",
            },
        };
        await channel.BasicPublishAsync("", errorQueue, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
    }

    private static async Task<JsonElement> GetJsonAsync(PipelineEnvironment env, string path)
    {
        using var response = await SendAsync(env, HttpMethod.Get, path, Key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<HttpResponseMessage> SendAsync(PipelineEnvironment env, HttpMethod method, string path, string? key, string? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(env.ReceiverUrl, path));
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return await env.Http.SendAsync(request);
    }
}

/// <summary>The embedded Host runs on the in-memory bus, which keeps no dead letters: its routes say so instead of failing.</summary>
public sealed class EmbeddedDeadLetterTests(ITestOutputHelper output)
{
    private const string Key = "embedded-dead-letter-key";

    [Fact]
    public async Task On_the_embedded_host_the_dead_letter_routes_answer_501_and_still_require_the_key()
    {
        var ledgerPath = Path.Combine(Path.GetTempPath(), $"eventimaging-host-{Guid.NewGuid():N}.db");
        try
        {
            await using var host = await Processes.ServiceProcess.StartAsync(
                "EventImaging.Host", new Dictionary<string, string?> { ["Operator:ApiKey"] = Key }, output, "--Ledger:SqlitePath", ledgerPath);
            using var http = new HttpClient();
            foreach (var (method, path) in new[]
                     {
                         (HttpMethod.Get, "/operator/dead-letters"),
                         (HttpMethod.Get, "/operator/dead-letters/generate-image?take=5"),
                         (HttpMethod.Post, "/operator/dead-letters/generate-image/replay"),
                         (HttpMethod.Post, "/operator/dead-letters/generate-image/some-id/replay"),
                         (HttpMethod.Delete, "/operator/dead-letters/generate-image"),
                     })
            {
                using var request = new HttpRequestMessage(method, new Uri(host.BaseUrl, path));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
                using var response = await http.SendAsync(request);
                Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
                Assert.Contains("in-memory bus keeps none", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString(), StringComparison.Ordinal);

                using var anonymous = await http.SendAsync(new HttpRequestMessage(method, new Uri(host.BaseUrl, path)));
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            }
        }
        finally
        {
            foreach (var file in new[] { ledgerPath, ledgerPath + "-wal", ledgerPath + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
