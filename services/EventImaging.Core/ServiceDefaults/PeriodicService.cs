using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.ServiceDefaults;

/// <summary>
/// A background loop that runs one round of work at start and then every <see cref="Interval"/>: the gauges' refresh, the
/// outbox sweep, the retention sweep. A round that fails is reported (<see cref="OnRoundFailed"/>) and the next one runs on
/// time; only stopping the service ends the loop.
/// </summary>
public abstract class PeriodicService(TimeProvider clock) : BackgroundService
{
    /// <summary>The clock the loop runs on, for what the round itself times.</summary>
    protected TimeProvider Clock => clock;

    protected abstract TimeSpan Interval { get; }

    protected abstract Task RunRoundAsync(CancellationToken cancellationToken);

    protected abstract void OnRoundFailed(Exception exception);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            try
            {
                await RunRoundAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                OnRoundFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
