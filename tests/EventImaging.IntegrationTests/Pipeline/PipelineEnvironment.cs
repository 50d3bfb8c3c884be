extern alias receiver;
extern alias submitter;

using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.IntegrationTests.Infrastructure;
using EventImaging.IntegrationTests.Telemetry;
using EventImaging.ProviderSimulator;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using RabbitMQ.Client;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>
/// The deployed topology on one machine: the provider simulator, a WebhookReceiver and a Submitter, each booted by
/// its own Program.cs in this process on its own Kestrel, on a fresh RabbitMQ vhost and a fresh PostgreSQL database.
/// Their logs go to the test's output.
/// </summary>
public sealed class PipelineEnvironment : IAsyncDisposable
{
    public const string ApiKey = "sim-key";

    public const string TestSource = "EventImaging.Tests";

    private readonly List<ServiceApp> apps = [];
    private readonly TelemetryCapture? telemetry;
    private readonly TestOutputLog log;

    private PipelineEnvironment(Uri broker, string ledger, TelemetryCapture? telemetry, TestOutputLog log)
    {
        Broker = broker;
        Ledger = ledger;
        this.telemetry = telemetry;
        this.log = log;
    }

    public Uri Broker { get; }

    public string Ledger { get; }

    public Uri SimulatorUrl { get; private set; } = null!;

    public Uri ReceiverUrl { get; private set; } = null!;

    public SimulatorState Simulator { get; private set; } = null!;

    public ServiceApp Submitter { get; private set; } = null!;

    public ServiceApp Receiver { get; private set; } = null!;

    public EventCollector Events { get; private set; } = null!;

    public HttpClient Http { get; } = new();

    /// <summary>The settings every service of this environment runs with (broker, ledger, provider, short test timings).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; private set; } = new Dictionary<string, string?>();

    /// <param name="inProcessSubmitter">False when the test runs its Submitters as processes.</param>
    /// <param name="output">The test's output, where the services' logs go (without it they are dropped).</param>
    public static async Task<PipelineEnvironment> StartAsync(
        RabbitMqFixture rabbitMq,
        PostgresFixture postgres,
        IDictionary<string, string?>? settings = null,
        bool inProcessSubmitter = true,
        TelemetryCapture? telemetry = null,
        ITestOutputHelper? output = null)
    {
        var environment = new PipelineEnvironment(
            await rabbitMq.CreateVirtualHostAsync(), await postgres.CreateDatabaseAsync(), telemetry, new TestOutputLog(output));
        try
        {
            await environment.StartServicesAsync(settings ?? new Dictionary<string, string?>(), inProcessSubmitter);
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }

        return environment;
    }

    private async Task StartServicesAsync(IDictionary<string, string?> settings, bool inProcessSubmitter)
    {
        var simulator = await StartAsync<SimulatorState>("simulator", new Dictionary<string, string?>
        {
            ["Simulator:AllowInsecureCallbacks"] = "true",
            // Every create of a test is kept (the chaos suite's 10,000 included): the checks read them all.
            ["Simulator:MaxRecordedRequests"] = "1000000",
        });
        SimulatorUrl = simulator.BaseUrl;
        Simulator = simulator.Services.GetRequiredService<SimulatorState>();
        Simulator.UpdateKnobs(knobs => knobs with { CompletionDelayMs = 300 });

        Events = await EventCollector.StartAsync(Broker);

        var common = new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = Broker.AbsoluteUri,
            ["ConnectionStrings:Ledger"] = Ledger,
            ["Providers:Evolink:BaseUrl"] = new Uri(SimulatorUrl, "/evolink").AbsoluteUri,
            ["Providers:Evolink:ApiKey"] = ApiKey,
            ["Providers:GptImage15:BaseUrl"] = new Uri(SimulatorUrl, "/gptimage15").AbsoluteUri,
            ["Providers:GptImage15:ApiKey"] = ApiKey,
            ["Callbacks:AllowInsecureHttp"] = "true",
            ["Outbox:SweepInterval"] = "00:00:00.200",
            ["Outbox:PublishLease"] = "00:00:03",
            ["Submitter:RetryInitialInterval"] = "00:00:00.200",
            ["Submitter:UnknownOutcomeWait"] = "00:00:01",
            ["Submitter:SubmitLease"] = "00:00:05",
            ["Polling:Interval"] = "00:00:00.100",
            ["Polling:FirstPollGrace"] = "00:00:05",
            ["Polling:FirstPollWithoutCallbacks"] = "00:00:00.200",
            ["Polling:InitialInterval"] = "00:00:00.200",
            ["Polling:MaxInterval"] = "00:00:00.800",
        };
        foreach (var (key, value) in settings)
        {
            common[key] = value;
        }

        Settings = common;

        Receiver = await StartAsync<receiver::Program>("webhook-receiver", common, (services, logging) =>
        {
            telemetry?.AttachSpansAndMetrics(services);
            telemetry?.AttachLogs(services, logging, "webhook-receiver");
        });
        ReceiverUrl = Receiver.BaseUrl;

        var submitterSettings = new Dictionary<string, string?>(common);
        submitterSettings.TryAdd("Callbacks:PublicBaseUrl", ReceiverUrl.AbsoluteUri);
        if (submitterSettings["Callbacks:PublicBaseUrl"] is "")
        {
            // Polling-only mode: no public URL at all.
            submitterSettings.Remove("Callbacks:PublicBaseUrl");
        }

        if (!inProcessSubmitter)
        {
            return;
        }
        Submitter = await StartAsync<submitter::Program>("submitter", submitterSettings, (services, logging) =>
            telemetry?.AttachLogs(services, logging, "submitter"));
    }

    private async Task<ServiceApp> StartAsync<TEntryPoint>(
        string name,
        IReadOnlyDictionary<string, string?> settings,
        Action<IServiceCollection, ILoggingBuilder>? configure = null)
        where TEntryPoint : class
    {
        var app = await ServiceApp.StartAsync<TEntryPoint>(name, settings, log, configure);
        apps.Add(app);
        telemetry?.Started(app.Services);
        return app;
    }

    /// <summary>
    /// Publishes a command as any non-.NET service would: plain camelCase JSON on the contract's exchange
    /// (<c>GenerateImage</c>'s unless <paramref name="contract"/> names another).
    /// </summary>
    public async Task PublishJsonAsync(object command, string contract = nameof(GenerateImage))
    {
        await using var connection = await new ConnectionFactory { Uri = Broker }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var body = JsonSerializer.SerializeToUtf8Bytes(command, EventJson.Options);
        var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync($"EventImaging.Contracts:{contract}", "", mandatory: false, properties, body);
    }

    /// <summary>Publishes <paramref name="body"/> as it is, as plain JSON on the command's exchange (a publisher's bug included).</summary>
    public async Task PublishRawAsync(string body)
    {
        await using var connection = await new ConnectionFactory { Uri = Broker }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync("EventImaging.Contracts:GenerateImage", "", mandatory: false, properties, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>How many commands wait in one of MassTransit's error queues of the submitter (<c>generate-image_error</c> unless named); 0 before it exists.</summary>
    public async Task<uint> ErrorQueueDepthAsync(string queue = "generate-image_error")
    {
        await using var connection = await new ConnectionFactory { Uri = Broker }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    /// <summary>Publishes a command through MassTransit, as a .NET service would.</summary>
    public Task PublishAsync(GenerateImage command) =>
        Submitter.Services.GetRequiredService<IBus>().Publish(command);

    /// <summary>The create requests the simulator received whose prompt contains <paramref name="marker"/>.</summary>
    public IReadOnlyList<ReceivedCreateRequest> CreatesFor(string marker) =>
        [.. Simulator.GetCreateRequests().Where(r => r.RawBody.Contains(marker, StringComparison.Ordinal))];

    public async Task<ImageRequest?> RowAsync(Guid requestId)
    {
        await using var scope = Receiver.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LedgerDbContext>();
        return await db.Requests.AsNoTracking().SingleOrDefaultAsync(r => r.RequestId == requestId);
    }

    /// <summary>
    /// <c>Polling:FirstPollGrace</c> for tests that finish requests by callback and by poll: the first poll comes 3 s
    /// after the provider's estimate, so a callback due 0.3 s after the create is never beaten to it on a loaded
    /// machine, and a request without a callback is still polled within seconds.
    /// </summary>
    public const string FirstPollGraceForBothPaths = "00:00:03";

    /// <summary>Waits until the request's task is recorded (state <c>submitted</c>).</summary>
    public Task SubmittedAsync(Guid requestId) =>
        Eventually.UntilAsync(
            async () => (await RowAsync(requestId))?.State == RequestState.Submitted,
            TimeSpan.FromSeconds(15),
            $"request {requestId} to be submitted");

    /// <summary>
    /// Waits until the request's row is marked published. The mark follows the broker's confirmation, so a subscriber
    /// can hold the event before it.
    /// </summary>
    public Task MarkedPublishedAsync(Guid requestId, TimeSpan? timeout = null) =>
        Eventually.UntilAsync(
            async () => (await RowAsync(requestId))?.EventPublishedAt is not null,
            timeout ?? TimeSpan.FromSeconds(10),
            $"request {requestId}'s event to be marked published");

    /// <summary>The callback token the provider was given for the request's single create call.</summary>
    public string CallbackTokenOf(Guid requestId)
    {
        var create = CreatesFor(requestId.ToString("N")).Single();
        var url = create.Body!.Value.GetProperty("callback_url").GetString()!;
        return url[(url.LastIndexOf('/') + 1)..];
    }

    public async Task<HttpResponseMessage> PostCallbackAsync(string provider, string token, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await Http.PostAsync(new Uri(ReceiverUrl, $"/callbacks/{provider}/{token}"), content);
    }

    /// <summary><c>GET /operator/requests/{requestId}</c> on the receiver, with <paramref name="key"/> as bearer key when given.</summary>
    public async Task<HttpResponseMessage> LookUpAsync(Guid requestId, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(ReceiverUrl, $"/operator/requests/{requestId}"));
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return await Http.SendAsync(request);
    }

    /// <summary><c>POST /operator/requests/{requestId}/cancel</c> on the receiver with the operator key.</summary>
    public async Task<HttpResponseMessage> OperatorCancelAsync(Guid requestId, string key, string? reason = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(ReceiverUrl, $"/operator/requests/{requestId}/cancel"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        request.Content = JsonContent.Create(new { reason });
        return await Http.SendAsync(request);
    }

    /// <summary>The request's history as the ledger holds it, oldest first.</summary>
    public async Task<List<HistoryEntry>> HistoryAsync(Guid requestId)
    {
        await using var scope = Receiver.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LedgerDbContext>();
        return await db.History.AsNoTracking().Where(h => h.RequestId == requestId).OrderBy(h => h.Id).ToListAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(apps))
        {
            await app.DisposeAsync();
        }

        if (Events is not null)
        {
            await Events.DisposeAsync();
        }

        // Idle pooled connections outlive the apps for minutes; over a whole run they would exhaust the server.
        NpgsqlConnection.ClearAllPools();
        Http.Dispose();
    }
}
