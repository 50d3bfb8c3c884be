namespace EventImaging.Core.Scheduling;

/// <summary>When a submitted task is next queried: a pure function of its history, so it is unit-tested alone.</summary>
public static class PollSchedule
{
    /// <summary>The first query: after the provider's estimate plus a grace that depends on whether a callback is expected.</summary>
    public static DateTimeOffset First(DateTimeOffset submittedAt, int? estimatedSeconds, bool callbacksEnabled, PollingOptions options, DateTimeOffset deadline)
    {
        var grace = callbacksEnabled ? options.FirstPollGrace : options.FirstPollWithoutCallbacks;
        return Deadlines.NoLaterThanDeadline(submittedAt + TimeSpan.FromSeconds(Math.Max(0, estimatedSeconds ?? 0)) + grace, deadline);
    }

    /// <summary>The query after <paramref name="pollCount"/> unfinished ones: doubling from the initial interval, capped, with jitter.</summary>
    public static DateTimeOffset Next(DateTimeOffset now, int pollCount, double random, PollingOptions options, DateTimeOffset deadline)
    {
        var doublings = Math.Clamp(pollCount - 1, 0, 20);
        var interval = Math.Min(options.InitialInterval.TotalMilliseconds * Math.Pow(2, doublings), options.MaxInterval.TotalMilliseconds);
        var spread = 1 + (options.Jitter * ((2 * random) - 1));
        return Deadlines.NoLaterThanDeadline(now + TimeSpan.FromMilliseconds(interval * spread), deadline);
    }
}
