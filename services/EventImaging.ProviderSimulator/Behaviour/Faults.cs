using EventImaging.ProviderSimulator.Tasks;

namespace EventImaging.ProviderSimulator.Behaviour;

/// <summary>An HTTP error the simulator was told to answer with instead of doing the work.</summary>
internal readonly record struct InjectedError(int Status, int? RetryAfterSeconds)
{
    public void WriteHeaders(HttpResponse response)
    {
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>Decides, per call, whether to slow down or fail, from the knobs and the task's markers.</summary>
internal sealed class Faults(SimulatorState state, TimeProvider time)
{
    public Task DelayAsync(int milliseconds, CancellationToken cancellationToken) =>
        DelayAsync(TimeSpan.FromMilliseconds(milliseconds), cancellationToken);

    public Task DelayAsync(TimeSpan latency, CancellationToken cancellationToken) =>
        latency > TimeSpan.Zero ? Task.Delay(latency, time, cancellationToken) : Task.CompletedTask;

    public InjectedError? CreateError(SimulatedProvider provider, string prompt, PromptMarkers markers)
    {
        var knobs = state.Knobs;
        var fromMarker = markers.CreateErrorStatus is not null;
        if ((markers.CreateErrorStatus ?? knobs.CreateErrorStatus) is not { } status)
        {
            return null;
        }

        var times = fromMarker ? markers.CreateErrorTimes ?? 0 : knobs.CreateErrorTimes;
        var attempt = state.CountCreateAttempt(provider, prompt);
        if (times > 0 && attempt > times)
        {
            return null;
        }

        return new InjectedError(status, markers.RetryAfterSeconds ?? knobs.RetryAfterSeconds);
    }

    /// <summary>What the chaos shares make of one create call, drawn once before it is handled.</summary>
    public CreateChaos DrawCreate()
    {
        var chaos = state.Knobs.Chaos;
        var roll = Random.Shared.NextDouble();
        return roll < chaos.CreateError ? CreateChaos.RefuseFirst
            : roll < chaos.CreateError + chaos.CreateThenGatewayTimeout ? CreateChaos.GatewayTimeoutAfter
            : roll < chaos.CreateError + chaos.CreateThenGatewayTimeout + chaos.CreateHang ? CreateChaos.Hang
            : CreateChaos.None;
    }

    /// <summary>The status a create refused by chaos is answered with: rate limited or failing, before creating.</summary>
    public static InjectedError RefusedCreate() => new(RefusedStatuses[Random.Shared.Next(RefusedStatuses.Length)], 1);

    /// <summary>Holds a create that chaos never answers, until the caller gives up.</summary>
    public static async Task HangAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static readonly int[] RefusedStatuses = [429, 500, 503];

    /// <summary>A status query chaos answers 429 or 503 instead; null for most.</summary>
    public InjectedError? ChaosQueryError() =>
        Random.Shared.NextDouble() < state.Knobs.Chaos.QueryError ? new InjectedError(Random.Shared.Next(2) == 0 ? 429 : 503, 1) : null;

    /// <param name="queryNumber">1 for the task's first status query.</param>
    public InjectedError? QueryError(SimulatedTask task, int queryNumber, DateTimeOffset now)
    {
        if (state.ConsumeInstanceQueryError(now) is { } instanceStatus)
        {
            return new InjectedError(instanceStatus, state.Knobs.RetryAfterSeconds);
        }

        var behaviour = task.Behaviour;
        if (behaviour.QueryErrorStatus is not { } status)
        {
            return null;
        }

        var inWindow = behaviour.QueryErrorWindow > TimeSpan.Zero && now < task.CreatedAt + behaviour.QueryErrorWindow;
        var inCount = behaviour.QueryErrorCount > 0 && queryNumber <= behaviour.QueryErrorCount;
        var always = behaviour.QueryErrorWindow == TimeSpan.Zero && behaviour.QueryErrorCount == 0;
        return inWindow || inCount || always ? new InjectedError(status, behaviour.RetryAfterSeconds) : null;
    }
}

/// <summary>What chaos does to one create call.</summary>
internal enum CreateChaos
{
    None,

    /// <summary>Answer 429/500/503 before creating anything.</summary>
    RefuseFirst,

    /// <summary>Create the task, then answer 504 as a gateway would.</summary>
    GatewayTimeoutAfter,

    /// <summary>Never answer; create nothing.</summary>
    Hang,
}
