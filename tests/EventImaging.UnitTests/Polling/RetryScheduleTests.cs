using EventImaging.Core.Scheduling;
using EventImaging.Core.Submission;

namespace EventImaging.UnitTests.Polling;

public sealed class RetryScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly SubmitterOptions Options = new() { RetryInitialInterval = TimeSpan.FromSeconds(1), RetryMaxInterval = TimeSpan.FromSeconds(60) };

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(7, 60)]
    [InlineData(30, 60)]
    public void Backoff_doubles_per_attempt_up_to_the_cap(int attempts, int seconds) =>
        Assert.Equal(Now.AddSeconds(seconds), RetrySchedule.Next(Now, attempts, null, random: 1.0, Options.RetryInitialInterval, Options.RetryMaxInterval));

    [Fact]
    public void Jitter_keeps_a_wait_within_its_upper_half()
    {
        Assert.Equal(Now.AddSeconds(2), RetrySchedule.Next(Now, 3, null, random: 0.0, Options.RetryInitialInterval, Options.RetryMaxInterval));
        Assert.Equal(Now.AddSeconds(3), RetrySchedule.Next(Now, 3, null, random: 0.5, Options.RetryInitialInterval, Options.RetryMaxInterval));
    }

    [Fact]
    public void Retry_after_is_honoured_when_longer_than_the_backoff() =>
        Assert.Equal(Now.AddSeconds(90), RetrySchedule.Next(Now, 1, TimeSpan.FromSeconds(90), random: 1.0, Options.RetryInitialInterval, Options.RetryMaxInterval));

    [Fact]
    public void A_shorter_retry_after_does_not_shorten_the_backoff() =>
        Assert.Equal(Now.AddSeconds(4), RetrySchedule.Next(Now, 3, TimeSpan.FromSeconds(1), random: 1.0, Options.RetryInitialInterval, Options.RetryMaxInterval));
}
