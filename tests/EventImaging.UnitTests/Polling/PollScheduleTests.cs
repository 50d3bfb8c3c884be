using EventImaging.Core.Scheduling;

namespace EventImaging.UnitTests.Polling;

public sealed class PollScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset FarDeadline = Now.AddHours(1);
    private static readonly PollingOptions Options = new()
    {
        FirstPollGrace = TimeSpan.FromSeconds(30),
        FirstPollWithoutCallbacks = TimeSpan.FromSeconds(2),
        InitialInterval = TimeSpan.FromSeconds(5),
        MaxInterval = TimeSpan.FromSeconds(60),
        Jitter = 0.2,
    };

    [Fact]
    public void First_poll_waits_for_the_estimate_plus_the_callback_grace() =>
        Assert.Equal(Now.AddSeconds(100 + 30), PollSchedule.First(Now, 100, callbacksEnabled: true, Options, FarDeadline));

    [Fact]
    public void First_poll_comes_sooner_without_callbacks() =>
        Assert.Equal(Now.AddSeconds(100 + 2), PollSchedule.First(Now, 100, callbacksEnabled: false, Options, FarDeadline));

    [Fact]
    public void Without_an_estimate_only_the_grace_counts() =>
        Assert.Equal(Now.AddSeconds(30), PollSchedule.First(Now, null, callbacksEnabled: true, Options, FarDeadline));

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(3, 20)]
    [InlineData(4, 40)]
    [InlineData(5, 60)]
    [InlineData(50, 60)]
    public void Intervals_double_up_to_the_cap(int pollCount, int seconds) =>
        Assert.Equal(Now.AddSeconds(seconds), PollSchedule.Next(Now, pollCount, random: 0.5, Options, FarDeadline));

    [Fact]
    public void Jitter_spreads_an_interval_by_at_most_its_fraction()
    {
        Assert.Equal(Now.AddSeconds(4), PollSchedule.Next(Now, 1, random: 0.0, Options, FarDeadline));
        Assert.Equal(Now.AddSeconds(6), PollSchedule.Next(Now, 1, random: 1.0, Options, FarDeadline));
    }

    [Fact]
    public void Nothing_is_scheduled_after_the_deadline()
    {
        var deadline = Now.AddSeconds(3);
        Assert.Equal(deadline, PollSchedule.Next(Now, 4, random: 0.5, Options, deadline));
        Assert.Equal(deadline, PollSchedule.First(Now, 100, callbacksEnabled: true, Options, deadline));
    }
}
