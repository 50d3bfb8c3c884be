using System.Diagnostics.Metrics;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.UnitTests.Callbacks;

public sealed class CallbackAdmissionTests : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ManualClock clock = new();
    private readonly WarningLog log = new();
    private readonly MeterListener listener = new();
    private long shedMeasured;

    public CallbackAdmissionTests()
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "eventimaging.callbacks.shed")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref shedMeasured, value));
        listener.Start();
    }

    [Fact]
    public void Callbacks_past_the_bound_are_turned_away_until_one_in_hand_is_answered()
    {
        var admission = Admission(maxInFlight: 2);

        Assert.True(admission.TryEnter());
        Assert.True(admission.TryEnter());
        Assert.False(admission.TryEnter());
        Assert.False(admission.TryEnter());
        Assert.Equal(2, admission.InFlight);

        admission.Leave();
        Assert.True(admission.TryEnter());
        Assert.False(admission.TryEnter());
        Assert.Equal(3, Interlocked.Read(ref shedMeasured));
    }

    [Fact]
    public void Zero_turns_the_bound_off()
    {
        var admission = Admission(maxInFlight: 0);

        Assert.All(Enumerable.Range(0, 10_000), _ => Assert.True(admission.TryEnter()));
        Assert.Equal(10_000, admission.InFlight);
        Assert.Equal(0, Interlocked.Read(ref shedMeasured));
    }

    [Fact]
    public void Turning_callbacks_away_logs_one_warning_per_ten_seconds_with_the_count_since_the_last()
    {
        var admission = Admission(maxInFlight: 1);
        Assert.True(admission.TryEnter());

        Assert.False(admission.TryEnter());
        Assert.False(admission.TryEnter());
        Assert.False(admission.TryEnter());
        Assert.Equal(["Turned away 1 callbacks with 503: 1 were already in flight (Callbacks:MaxInFlight); the providers retry and the poller covers the rest"], log.Warnings);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(admission.TryEnter());
        Assert.Equal(2, log.Warnings.Count);
        Assert.StartsWith("Turned away 3 callbacks with 503", log.Warnings[1], StringComparison.Ordinal);
    }

    public void Dispose()
    {
        listener.Dispose();
        services.Dispose();
    }

    private CallbackAdmission Admission(int maxInFlight) => new(
        Options.Create(new CallbackOptions { MaxInFlight = maxInFlight }),
        new RequestMetrics(services.GetRequiredService<IMeterFactory>(), clock),
        clock,
        log);

    private sealed class ManualClock : TimeProvider
    {
        private long ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }

    private sealed class WarningLog : ILogger<CallbackAdmission>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }
}
