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
