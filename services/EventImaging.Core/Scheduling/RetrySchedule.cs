namespace EventImaging.Core.Scheduling;

/// <summary>When a transiently failed create is sent again: exponential backoff with jitter, never sooner than the provider's <c>Retry-After</c>.</summary>
public static class RetrySchedule
{
    public static DateTimeOffset Next(DateTimeOffset now, int attempts, TimeSpan? retryAfter, double random, TimeSpan initialInterval, TimeSpan maxInterval)
    {
        var doublings = Math.Clamp(attempts - 1, 0, 20);
        var backoff = Math.Min(initialInterval.TotalMilliseconds * Math.Pow(2, doublings), maxInterval.TotalMilliseconds);
        // Full jitter on the upper half: spreads retries of many requests that failed together.
        var jittered = backoff * (0.5 + (0.5 * random));
        var wait = Math.Max(jittered, retryAfter?.TotalMilliseconds ?? 0);
        return now + TimeSpan.FromMilliseconds(wait);
    }
}
