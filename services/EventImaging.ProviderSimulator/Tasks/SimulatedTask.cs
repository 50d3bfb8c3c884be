using System.Text.Json;
using EventImaging.ProviderSimulator.Behaviour;

namespace EventImaging.ProviderSimulator.Tasks;

internal enum TaskPhase
{
    Pending,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

internal readonly record struct TaskSnapshot(TaskPhase Phase, int Progress, TimeSpan Remaining)
{
    public bool IsTerminal => Phase is TaskPhase.Completed or TaskPhase.Failed or TaskPhase.Cancelled;
}

/// <summary>
/// A created task. Nothing about its progress is stored: the state is a function of the
/// creation time, the behaviour and the clock, so polling, callbacks and a fake clock all agree.
/// </summary>
internal sealed class SimulatedTask
{
    // The first part of the delay is reported as queued, the rest as running, like the provider.
    private const double PendingShare = 0.2;

    private int statusQueries;
    private int callbackAttempts;
    private int callbackSuccesses;

    public required string Id { get; init; }
    public required SimulatedProvider Provider { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string Model { get; init; }
    public required string Quality { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required JsonElement Request { get; init; }
    public required Uri? CallbackUrl { get; init; }

    /// <summary>Scheme, host and path base of the create call: callbacks have no request of their own to build result URLs from.</summary>
    public required string CreatedVia { get; init; }
    public required TaskBehaviour Behaviour { get; init; }

    public int StatusQueries => Volatile.Read(ref statusQueries);
    public int CallbackAttempts => Volatile.Read(ref callbackAttempts);
    public int CallbackSuccesses => Volatile.Read(ref callbackSuccesses);

    public DateTimeOffset TerminalAt => CreatedAt + Behaviour.CompletionDelay;

    public bool WillFinish => Behaviour.Outcome != TaskOutcome.NeverFinish;

    public int RecordStatusQuery() => Interlocked.Increment(ref statusQueries);

    public void RecordCallbackAttempt() => Interlocked.Increment(ref callbackAttempts);

    public void RecordCallbackSuccess() => Interlocked.Increment(ref callbackSuccesses);

    public TaskSnapshot At(DateTimeOffset now)
    {
        var delay = Behaviour.CompletionDelay;
        var elapsed = now - CreatedAt;
        if (WillFinish && elapsed >= delay)
        {
            return Behaviour.Outcome switch
            {
                TaskOutcome.Fail => new TaskSnapshot(TaskPhase.Failed, 0, TimeSpan.Zero),
                TaskOutcome.Cancel => new TaskSnapshot(TaskPhase.Cancelled, 0, TimeSpan.Zero),
                _ => new TaskSnapshot(TaskPhase.Completed, 100, TimeSpan.Zero),
            };
        }

        var remaining = WillFinish ? delay - elapsed : delay;
        if (elapsed < delay * PendingShare)
        {
            return new TaskSnapshot(TaskPhase.Pending, 0, remaining);
        }

        // A task that never finishes creeps towards 95 % and stays there.
        var fraction = delay <= TimeSpan.Zero ? 1 : elapsed / delay;
        var progress = (int)Math.Clamp(fraction * 100, 1, WillFinish ? 99 : 95);
        return new TaskSnapshot(TaskPhase.Processing, progress, remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining);
    }
}
