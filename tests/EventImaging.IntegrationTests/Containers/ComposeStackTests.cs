using System.Net;
using System.Text.Json;
using EventImaging.IntegrationTests.Pipeline;
using RabbitMQ.Client;

namespace EventImaging.IntegrationTests.Containers;

/// <summary>
/// The Docker Compose stack (docker-compose.yml, every service in its own container) seen from outside, as a user
/// sees it: commands published as plain JSON on the broker's published port end in terminal events, and every service
/// answers its health endpoints on its published port. tests/containers/check.sh brings the stack up, runs these
/// tests alone (the category below) with the ports in the variables below, and tears it down; the main run leaves
/// them out.
/// </summary>
[Trait("Category", Category)]
public sealed class ComposeStackTests
{
    /// <summary>The test category that test.sh's main run excludes and the container stage runs.</summary>
    public const string Category = "ComposeStack";

    private static readonly TimeSpan TerminalTimeout = TimeSpan.FromSeconds(60);

    private static Uri Broker => Required("EVENTIMAGING_COMPOSE_RABBITMQ");

    public static TheoryData<string> Services => new() { "EVENTIMAGING_COMPOSE_SUBMITTER", "EVENTIMAGING_COMPOSE_WEBHOOK_RECEIVER", "EVENTIMAGING_COMPOSE_SIMULATOR" };

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Each_service_is_live_and_ready_on_its_published_port(string variable)
    {
        using var http = new HttpClient { BaseAddress = Required(variable), Timeout = TimeSpan.FromSeconds(10) };
        foreach (var path in new[] { "health/live", "health/ready" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{http.BaseAddress}{path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task Commands_published_from_outside_end_in_one_terminal_event_each()
    {
        await using var events = await EventCollector.StartAsync(Broker);
        var valid = new[]
        {
            (RequestId: Guid.NewGuid(), Provider: "evolink"),
            (RequestId: Guid.NewGuid(), Provider: "evolink"),
            (RequestId: Guid.NewGuid(), Provider: "gptimage15"),
            (RequestId: Guid.NewGuid(), Provider: "gptimage15"),
        };
        var invalid = Guid.NewGuid();

        await using (var connection = await new ConnectionFactory { Uri = Broker }.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
            foreach (var (requestId, provider) in valid)
            {
                var body = JsonSerializer.SerializeToUtf8Bytes(new { requestId, prompt = $"A lighthouse in a container {requestId:N}", provider, metadata = new { stack = "compose" } });
                await channel.BasicPublishAsync("EventImaging.Contracts:GenerateImage", "", mandatory: false, properties, body);
            }

            var bad = JsonSerializer.SerializeToUtf8Bytes(new { requestId = invalid, prompt = "x", size = "800x600" });
            await channel.BasicPublishAsync("EventImaging.Contracts:GenerateImage", "", mandatory: false, properties, bad);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var (requestId, provider) in valid)
        {
            var terminal = await events.TerminalAsync(requestId, TerminalTimeout);
            Assert.Equal("ImageCompleted", terminal.Type);
            Assert.Equal(requestId, terminal.MessageId);
            Assert.Equal(provider, terminal.Text("provider"));
            Assert.Equal("compose", terminal.Message.GetProperty("metadata").GetProperty("stack").GetString());

            // The image was copied to the stack's object store, which this machine reaches on its published port.
            Assert.True(terminal.Message.GetProperty("archived").GetBoolean(), terminal.Message.ToString());
            var stored = terminal.Message.GetProperty("images")[0];
            var url = new Uri(Assert.Single(terminal.Message.GetProperty("imageUrls").EnumerateArray()).GetString()!);
            Assert.Equal(stored.GetProperty("url").GetString(), url.AbsoluteUri);
            Assert.Equal("simulator", new Uri(stored.GetProperty("providerUrl").GetString()!).Host);
            var bytes = await http.GetByteArrayAsync(url);
            Assert.Equal(stored.GetProperty("sha256").GetString(), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
            Assert.Equal("image/png", stored.GetProperty("contentType").GetString());
        }

        var failed = await events.TerminalAsync(invalid, TerminalTimeout);
        Assert.Equal("ImageFailed", failed.Type);
        Assert.Equal("invalid_request", failed.Text("code"));

        foreach (var requestId in valid.Select(v => v.RequestId).Append(invalid))
        {
            events.SingleTerminalFor(requestId);
        }
    }

    private static Uri Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? new Uri(value.EndsWith('/') ? value : value + "/")
            : throw new InvalidOperationException(
                $"{variable} is not set: these tests check a running Compose stack, which tests/containers/check.sh "
                + $"(EVENTIMAGING_TEST_TARGET=compose ./test.sh) brings up; the main run leaves out the '{Category}' category.");
}
