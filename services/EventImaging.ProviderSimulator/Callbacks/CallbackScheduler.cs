using System.Collections.Concurrent;
using System.Threading.Channels;
using EventImaging.ProviderSimulator.Tasks;

namespace EventImaging.ProviderSimulator.Callbacks;

/// <param name="Attempt">0 for the first delivery, 1.. for retries.</param>
internal sealed record CallbackDelivery(SimulatedTask Task, int Attempt);

/// <summary>
/// Holds deliveries until they are due. Timers come from the injected TimeProvider, so a fake
/// clock fires callbacks exactly when the task turns terminal; due deliveries go into a channel
/// the <see cref="CallbackDispatcher"/> drains, never into the request that created the task.
/// </summary>
internal sealed class CallbackScheduler(TimeProvider time) : IDisposable
{
    private readonly Channel<CallbackDelivery> due = Channel.CreateUnbounded<CallbackDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, ITimer> timers = new();
    private long nextTimerId;

    public ChannelReader<CallbackDelivery> Due => due.Reader;

    public void ScheduleFirst(SimulatedTask task)
    {
        if (task.CallbackUrl is null || !task.WillFinish || task.Behaviour.DropCallback)
        {
            return;
        }

        var dueIn = task.TerminalAt - time.GetUtcNow() + task.Behaviour.CallbackJitter;
        for (var copy = 0; copy < task.Behaviour.CallbackCopies; copy++)
        {
            Schedule(new CallbackDelivery(task, 0), dueIn);
        }
    }

    public void Schedule(CallbackDelivery delivery, TimeSpan dueIn)
    {
        if (dueIn <= TimeSpan.Zero)
        {
            due.Writer.TryWrite(delivery);
            return;
        }

        var id = Interlocked.Increment(ref nextTimerId);

        // Created stopped and started only once stored, so the callback can always find and dispose it.
        var timer = time.CreateTimer(
            _ =>
            {
                due.Writer.TryWrite(delivery);
                if (timers.TryRemove(id, out var fired))
                {
                    fired.Dispose();
                }
            },
            null,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
        timers[id] = timer;
        timer.Change(dueIn, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        due.Writer.TryComplete();
        foreach (var id in timers.Keys)
        {
            if (timers.TryRemove(id, out var timer))
            {
                timer.Dispose();
            }
        }
    }
}
