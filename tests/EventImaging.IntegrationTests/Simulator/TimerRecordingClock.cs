using System.Collections.Concurrent;

namespace EventImaging.IntegrationTests.Simulator;

/// <summary>
/// The system clock, remembering the due time of every timer started on it (at creation or by
/// <see cref="ITimer.Change"/>), in order. A test reads the delays a service asked for instead of
/// timing their effect on a loaded machine.
/// </summary>
internal sealed class TimerRecordingClock : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> dueTimes = new();

    public IReadOnlyList<TimeSpan> DueTimes => [.. dueTimes];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Record(dueTime);
        return new RecordingTimer(TimeProvider.System.CreateTimer(callback, state, dueTime, period), this);
    }

    private void Record(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            dueTimes.Enqueue(dueTime);
        }
    }

    private sealed class RecordingTimer(ITimer inner, TimerRecordingClock clock) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            clock.Record(dueTime);
            return inner.Change(dueTime, period);
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
