using System.Net.Sockets;
using System.Text;
using EventImaging.ProviderSimulator.Behaviour;
using EventImaging.ProviderSimulator.Evolink;
using EventImaging.ProviderSimulator.GptImage15;

namespace EventImaging.ProviderSimulator.Callbacks;

/// <summary>
/// Delivers due callbacks the way each provider documents it. evolink: 10 s timeout, a non-2xx
/// answer or connection failure is retried at most 3 times, 1, 2 and 4 s after the failure.
/// gptimage15 documents no retries, so it sends once.
/// </summary>
internal sealed class CallbackDispatcher(
    CallbackScheduler scheduler,
    SimulatorState state,
    TimeProvider time,
    ILogger<CallbackDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan ReceiverTimeout = TimeSpan.FromSeconds(10);

    // A private client rather than IHttpClientFactory: a host that adds resilience handlers to
    // every factory client (ConfigureHttpClientDefaults) would otherwise add its own retries and
    // timeouts, and the simulator would no longer retry exactly as the provider documents.
    private readonly HttpClient http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public override void Dispose()
    {
        http.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var delivery in scheduler.Due.ReadAllAsync(stoppingToken))
            {
                // Deliveries run side by side: one slow receiver must not hold up every other task's callback.
                _ = DeliverAsync(delivery, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverAsync(CallbackDelivery delivery, CancellationToken stoppingToken)
    {
        var task = delivery.Task;
        task.RecordCallbackAttempt();

        // Timers may fire a hair early; the body must describe the terminal task.
        var now = time.GetUtcNow();
        var snapshot = task.At(now < task.TerminalAt ? task.TerminalAt : now);
        var body = task.Provider == SimulatedProvider.Evolink
            ? EvolinkJson.Task(task, snapshot, task.CreatedVia)
            : GptImage15Json.Callback(task, snapshot, task.CreatedVia);

        string failure;
        try
        {
            using var timeout = new CancellationTokenSource(ReceiverTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stoppingToken);
            using var content = new StringContent(body.ToJsonString(JsonReply.Wire), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(task.CallbackUrl, content, linked.Token);
            if (response.IsSuccessStatusCode)
            {
                task.RecordCallbackSuccess();
                logger.LogInformation("Callback for task {TaskId} delivered on attempt {Attempt}", task.Id, delivery.Attempt + 1);
                return;
            }

            failure = $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            failure = "timeout";
        }
        catch (HttpRequestException ex)
        {
            failure = ex.Message;
        }
        catch (SocketException ex)
        {
            failure = ex.Message;
        }

        var retryDelays = task.Provider == SimulatedProvider.Evolink
            ? state.Knobs.EvolinkCallbackRetryDelaysMs ?? SimulatorKnobs.DocumentedEvolinkRetryDelaysMs
            : [];
        if (delivery.Attempt < retryDelays.Length)
        {
            var delay = TimeSpan.FromMilliseconds(retryDelays[delivery.Attempt]);
            logger.LogInformation("Callback for task {TaskId} failed ({Failure}); retrying in {Delay}", task.Id, failure, delay);
            scheduler.Schedule(delivery with { Attempt = delivery.Attempt + 1 }, delay);
        }
        else
        {
            logger.LogWarning("Callback for task {TaskId} failed ({Failure}) after {Attempts} attempts; giving up", task.Id, failure, delivery.Attempt + 1);
        }
    }
}
