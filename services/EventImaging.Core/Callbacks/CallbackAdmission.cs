using EventImaging.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Callbacks;

/// <summary>
/// Bounds the callbacks one receiver works on at once (<see cref="CallbackOptions.MaxInFlight"/>). A callback past the
/// bound is turned away at once (503 with Retry-After) instead of waiting: the providers retry 1, 2 and 4 s later, and
/// the poller covers a request whose callbacks were all turned away. Without the bound, a receiver offered more than
/// it can apply keeps every callback in hand: its answers slow down with the backlog, past the providers' timeout,
/// and its memory grows with it.
/// </summary>
public sealed partial class CallbackAdmission
{
    /// <summary>While callbacks are being turned away, at most one warning per this interval, with the count since the last.</summary>
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private readonly RequestMetrics metrics;
    private readonly TimeProvider clock;
    private readonly ILogger<CallbackAdmission> logger;
    private readonly int limit;
    private int inFlight;
    private int shedSinceReport;
    private long lastReport = long.MinValue;

    public CallbackAdmission(IOptions<CallbackOptions> options, RequestMetrics metrics, TimeProvider clock, ILogger<CallbackAdmission> logger)
    {
        (this.metrics, this.clock, this.logger) = (metrics, clock, logger);
        var configured = options.Value.MaxInFlight;
        var heapBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        limit = InFlightBound.For(configured, heapBytes);
        LogBound(limit, configured is null ? $"sized from the GC heap's {heapBytes / (1024 * 1024)} MiB" : "configured");
    }

    /// <summary>Callbacks admitted and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>True when the callback may be worked on; the caller must then call <see cref="Leave"/> once it is answered.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref inFlight) <= limit || limit <= 0)
        {
            return true;
        }

        Interlocked.Decrement(ref inFlight);
        metrics.CallbackShed();
        Report(Interlocked.Increment(ref shedSinceReport));
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref inFlight);

    private void Report(int shed)
    {
        var now = clock.GetTimestamp();
        var last = Volatile.Read(ref lastReport);
        if ((last != long.MinValue && clock.GetElapsedTime(last, now) < ReportInterval)
            || Interlocked.CompareExchange(ref lastReport, now, last) != last)
        {
            return;
        }

        Interlocked.Add(ref shedSinceReport, -shed);
        LogShedding(shed, limit);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Callbacks:MaxInFlight is {Limit} ({Source}; 0 is no bound)")]
    private partial void LogBound(int limit, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Turned away {Shed} callbacks with 503: {Limit} were already in flight (Callbacks:MaxInFlight); the providers retry and the poller covers the rest")]
    private partial void LogShedding(int shed, int limit);
}
