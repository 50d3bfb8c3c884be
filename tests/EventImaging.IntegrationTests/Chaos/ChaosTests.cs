using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using EventImaging.Core.Messaging;
using EventImaging.IntegrationTests.Pipeline;
using EventImaging.IntegrationTests.Processes;
using EventImaging.ProviderSimulator;
using Npgsql;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace EventImaging.IntegrationTests.Chaos;

/// <summary>
/// Everything at once: two Submitters and two WebhookReceivers as processes behind a callback balancer, a provider
/// that misbehaves in every documented way, and a schedule of crashes, restarts and outages while requests flow.
/// An independent subscriber counts the terminal events; the ledger and the simulator's records are cross-checked.
/// Fails on any lost, conflicting or falsely failed request, and on any create answered with a task that was sent again
/// although no Submitter died holding the answer; writes a report (Markdown and JSON).
/// </summary>
/// <remarks>
/// <c>./test.sh</c> runs the quick run (500 requests, every fault once). The full run:
/// <c>EVENTIMAGING_CHAOS_REQUESTS=10000 EVENTIMAGING_TEST_TARGET=tests/EventImaging.IntegrationTests ./test.sh --filter FullyQualifiedName~ChaosTests</c>
/// (its report goes to <c>EVENTIMAGING_CHAOS_RESULTS</c>, an absolute path, by default the test output's <c>chaos</c> folder).
/// </remarks>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class ChaosTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>Longer than the 30 s ledger outage: an answered create's outcome is recorded again until its lease ends.</summary>
    internal static readonly TimeSpan SubmitLease = TimeSpan.FromSeconds(45);

    private static readonly int Requests = int.TryParse(Environment.GetEnvironmentVariable("EVENTIMAGING_CHAOS_REQUESTS"), out var n) ? n : 500;

    [Fact]
    public async Task Through_crashes_restarts_outages_and_a_misbehaving_provider_every_request_ends_exactly_once()
    {
        Assert.True(ServerFaults.Available, "the chaos suite restarts the test script's own RabbitMQ and PostgreSQL; run it through ./test.sh");
        var started = Stopwatch.StartNew();
        var startedAt = DateTimeOffset.UtcNow;
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, inProcessSubmitter: false, output: output);
        env.Simulator.UpdateKnobs(k => k with
        {
            CompletionDelayMs = 800,
            EvolinkCallbackRetryDelaysMs = [500, 1000, 2000],
            Chaos = new ChaosShares
            {
                DropCallback = 0.5,
                DuplicateCallback = 0.25,
                CallbackJitterMs = 1500,
                QueryError = 0.1,
                CreateError = 0.05,
                CreateThenGatewayTimeout = 0.03,
                CreateHang = 0.02,
            },
        });
        await using var checker = await TerminalEventChecker.StartAsync(env.Broker);
        await using var balancer = await CallbackBalancer.StartAsync();
        var settings = Settings(env, balancer.BaseUrl);
        var cluster = new Cluster(settings, balancer, output);
        await using var _ = cluster;
        await cluster.StartAsync();

        var published = new ConcurrentDictionary<Guid, DateTimeOffset>();
        var ids = Enumerable.Range(0, Requests).Select(_ => Guid.NewGuid()).ToArray();
        var perSecond = Math.Max(5, Requests / 600.0);
        var publishing = PublishAsync(env, ids, perSecond, published);

        var faults = new List<FaultRecord>();
        var pause = TimeSpan.FromSeconds(Math.Max(5, Requests / perSecond / 14));
        async Task FaultAsync(string name, Func<Task> inject)
        {
            using var wait = new PeriodicTimer(pause);
            await wait.WaitForNextTickAsync();
            var at = started.Elapsed;
            await inject();
            faults.Add(new FaultRecord(name, at, started.Elapsed - at));
            output.WriteLine($"[{at:mm\\:ss}] {name} ({(started.Elapsed - at).TotalSeconds:0.0} s)");
        }

        var ledgerDatabase = new NpgsqlConnectionStringBuilder(env.Ledger).Database!;
        await FaultAsync("kill -9 submitter A, restarted", () => cluster.KillAndRestartAsync(Role.Submitter, 0));
        await FaultAsync("kill -9 receiver A, restarted", () => cluster.KillAndRestartAsync(Role.Receiver, 0));
        await FaultAsync("RabbitMQ stop_app / start_app", ServerFaults.RestartRabbitMqAppAsync);
        await FaultAsync("kill -9 submitter B, restarted", () => cluster.KillAndRestartAsync(Role.Submitter, 1));
        await FaultAsync("PostgreSQL restart (fast)", () => ServerFaults.RestartPostgresAsync("fast"));
        await FaultAsync("kill -9 receiver B, restarted", () => cluster.KillAndRestartAsync(Role.Receiver, 1));
        await FaultAsync("RabbitMQ node restart", ServerFaults.RestartRabbitMqNodeAsync);
        await FaultAsync("PostgreSQL restart (immediate)", () => ServerFaults.RestartPostgresAsync("immediate"));
        await FaultAsync("ledger database unreachable for 30 s", async () =>
        {
            await using var outage = await postgres.RefuseConnectionsAsync(ledgerDatabase);
            using var hold = new PeriodicTimer(TimeSpan.FromSeconds(30));
            await hold.WaitForNextTickAsync();
        });
        await FaultAsync("broker unreachable for 30 s", async () =>
        {
            await using var outage = await rabbitMq.RefuseConnectionsAsync(env.Broker, TerminalEventChecker.ConnectionName);
            using var hold = new PeriodicTimer(TimeSpan.FromSeconds(30));
            await hold.WaitForNextTickAsync();
        });
        await FaultAsync("kill -9 submitter A and receiver B together, restarted", async () =>
        {
            await Task.WhenAll(cluster.KillAndRestartAsync(Role.Submitter, 0), cluster.KillAndRestartAsync(Role.Receiver, 1));
        });

        await publishing;
        var lastFault = faults[^1].At + faults[^1].Took;
        var settled = await WaitForAllAsync(checker, ids, TimeSpan.FromMinutes(5));
        var settledAfter = started.Elapsed - lastFault;

        var report = await ChaosReport.BuildAsync(env, checker, ids, published, startedAt, faults, settled, settledAfter, started.Elapsed);
        var (markdown, json) = report.Write(ResultsDirectory());
        output.WriteLine(report.Summary());
        foreach (var failure in report.FalseFailures.Take(10))
        {
            output.WriteLine($"false failure: {failure}");
        }

        output.WriteLine($"report: {markdown}, {json}");

        Assert.True(report.Lost.Count == 0, $"{report.Lost.Count} requests never ended: {string.Join(", ", report.Lost.Take(10))}");
        Assert.True(report.Conflicting.Count == 0, $"{report.Conflicting.Count} requests had two different terminal events: {string.Join(", ", report.Conflicting.Take(10))}");
        var resent = report.DoubleCreates.Where(d => d.Cause == ChaosReport.AnsweredUnexplainedCause).ToList();
        Assert.True(resent.Count == 0, $"{resent.Count} requests were sent again after a create answered with a task: {string.Join("; ", resent.Take(5).Select(d => $"{d.RequestId}: {d.Detail}"))}");
        Assert.True(report.FalseFailures.Count == 0, $"{report.FalseFailures.Count} requests failed falsely: {string.Join("; ", report.FalseFailures.Take(10))}");
    }

    private static Dictionary<string, string?> Settings(PipelineEnvironment env, Uri balancer) => new(env.Settings)
    {
        ["Ledger:MigrateOnStart"] = "false",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Callbacks:PublicBaseUrl"] = balancer.AbsoluteUri,
        // A third of the deployed default: creates that never answer cost 10 s each, not 30.
        ["Providers:Evolink:RequestTimeout"] = "00:00:10",
        ["Providers:GptImage15:RequestTimeout"] = "00:00:10",
        ["Requests:DefaultDeadline"] = "00:20:00",
        ["Submitter:SubmitLease"] = SubmitLease.ToString(),
        ["Submitter:UnknownOutcomeWait"] = "00:00:10",
        ["Polling:FirstPollGrace"] = "00:00:05",
        ["Polling:Interval"] = "00:00:00.200",
        ["Polling:InitialInterval"] = "00:00:01",
        ["Polling:MaxInterval"] = "00:00:04",
        ["Polling:Lease"] = "00:00:30",
        ["Outbox:PublishLease"] = "00:00:05",
        ["Outbox:SweepInterval"] = "00:00:01",
    };

    /// <summary>Publishes every command at the given rate, as a client with a reconnecting connection would: a failed publish is sent again.</summary>
    private static async Task PublishAsync(PipelineEnvironment env, Guid[] ids, double perSecond, ConcurrentDictionary<Guid, DateTimeOffset> published)
    {
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1 / perSecond));
        IConnection? connection = null;
        IChannel? channel = null;
        for (var i = 0; i < ids.Length; i++)
        {
            await pace.WaitForNextTickAsync();
            var provider = i % 2 == 0 ? "evolink" : "gptimage15";
            var body = JsonSerializer.SerializeToUtf8Bytes(new { requestId = ids[i], provider, prompt = $"Chaos {ids[i]:N}" }, EventJson.Options);
            while (true)
            {
                try
                {
                    connection ??= await new ConnectionFactory { Uri = env.Broker }.CreateConnectionAsync();
                    channel ??= await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
                    await channel.BasicPublishAsync("EventImaging.Contracts:GenerateImage", "", mandatory: false,
                        new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent }, body);
                    published[ids[i]] = DateTimeOffset.UtcNow;
                    break;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    channel = null;
                    connection = null;
                    await pace.WaitForNextTickAsync();
                }
            }
        }
    }

    private static async Task<bool> WaitForAllAsync(TerminalEventChecker checker, Guid[] ids, TimeSpan timeout)
    {
        try
        {
            await Eventually.UntilAsync(() => Task.FromResult(ids.All(id => checker.For(id).Count > 0)), timeout, "every request to end");
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static string ResultsDirectory() =>
        Environment.GetEnvironmentVariable("EVENTIMAGING_CHAOS_RESULTS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(AppContext.BaseDirectory, "chaos");
}

public enum Role
{
    Submitter,
    Receiver,
}

public sealed record FaultRecord(string Name, TimeSpan At, TimeSpan Took);

/// <summary>Two Submitters and two WebhookReceivers as processes; receivers are routed by the balancer.</summary>
internal sealed class Cluster(IReadOnlyDictionary<string, string?> settings, CallbackBalancer balancer, ITestOutputHelper output) : IAsyncDisposable
{
    private readonly ServiceProcess?[] submitters = new ServiceProcess?[2];
    private readonly ServiceProcess?[] receivers = new ServiceProcess?[2];

    public async Task StartAsync()
    {
        for (var i = 0; i < 2; i++)
        {
            receivers[i] = await ServiceProcess.StartAsync("EventImaging.WebhookReceiver", settings, output);
            submitters[i] = await ServiceProcess.StartAsync("EventImaging.Submitter", settings, output);
        }

        Route();
    }

    public async Task KillAndRestartAsync(Role role, int index)
    {
        var processes = role == Role.Submitter ? submitters : receivers;
        await processes[index]!.DisposeAsync();
        processes[index] = null;
        Route();
        processes[index] = await ServiceProcess.StartLiveAsync(role == Role.Submitter ? "EventImaging.Submitter" : "EventImaging.WebhookReceiver", settings, output);
        Route();
    }

    private void Route() => balancer.Route(receivers.Where(r => r is not null).Select(r => r!.BaseUrl));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in submitters.Concat(receivers))
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }
    }
}
