using System.Threading.Channels;
using EventImaging.Core.Ledger;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace EventImaging.UnitTests.Ledger;

public sealed class LedgerRetryTests
{
    private readonly WaitRecordingClock clock = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeLogger<LedgerRetry> logger = new();

    private static PostgresException Unavailable() => new("the database system is shutting down", "FATAL", "FATAL", "57P03");

    [Fact]
    public async Task A_write_is_tried_again_while_the_ledger_is_unreachable()
    {
        var attempts = 0;
        var run = new LedgerRetry(clock, logger).UntilAsync(
            clock.GetUtcNow().AddMinutes(1),
            () => ++attempts < 4 ? throw Unavailable() : Task.FromResult(42),
            CancellationToken.None);

        Assert.Equal(42, await AdvanceUntilDoneAsync(run));
        Assert.Equal(4, attempts);
        Assert.Equal(3, logger.Collector.GetSnapshot().Count(r => r.Level == LogLevel.Warning));
    }

    [Fact]
    public async Task Past_the_given_instant_the_fault_is_let_through()
    {
        var until = clock.GetUtcNow().AddSeconds(3);
        var attemptedAt = new List<DateTimeOffset>();
        var run = new LedgerRetry(clock, logger).UntilAsync<int>(until, () =>
        {
            attemptedAt.Add(clock.GetUtcNow());
            throw Unavailable();
        }, CancellationToken.None);

        await Assert.ThrowsAsync<PostgresException>(() => AdvanceUntilDoneAsync(run));
        Assert.InRange(attemptedAt.Count, 2, 10);
        Assert.All(attemptedAt, at => Assert.True(at < until, $"attempted at {at:O}, past {until:O}"));
    }

    [Fact]
    public async Task Any_other_fault_is_not_retried()
    {
        var attempts = 0;
        var run = new LedgerRetry(clock, logger).UntilAsync<int>(
            clock.GetUtcNow().AddMinutes(1),
            () => { attempts++; throw new InvalidOperationException("a bug"); },
            CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => run);
        Assert.Equal(1, attempts);
        Assert.Empty(logger.Collector.GetSnapshot());
    }

    /// <summary>Moves the fake clock on in small steps until <paramref name="run"/> ends (each step releases a pending wait).</summary>
    /// <summary>
    /// Fires each wait of the retry when it has started, exactly at its due time: advancing the clock on a schedule of
    /// its own would outrun a retry whose continuation a loaded machine runs late, and let its deadline pass unseen.
    /// </summary>
    private async Task<T> AdvanceUntilDoneAsync<T>(Task<T> run)
    {
        while (true)
        {
            var wait = clock.NextWaitAsync();
            await Task.WhenAny(run, wait).WaitAsync(TimeSpan.FromSeconds(10));
            if (run.IsCompleted)
            {
                return await run;
            }

            clock.Advance(await wait);
        }
    }

    /// <summary>A fake clock that hands over the due time of each timer started on it, in order.</summary>
    private sealed class WaitRecordingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private readonly Channel<TimeSpan> dueTimes = Channel.CreateUnbounded<TimeSpan>();

        public Task<TimeSpan> NextWaitAsync() => dueTimes.Reader.ReadAsync().AsTask();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                dueTimes.Writer.TryWrite(dueTime);
            }

            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
