using EventImaging.Core.Ledger;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.History;

/// <summary>
/// Writes what <see cref="RequestHistory"/> queued, in batches: once an entry waits, what else arrives within
/// <see cref="GatherTime"/> joins it, up to <see cref="MaxBatch"/> (one statement and one commit each). Under load that
/// is a few statements a second instead of one per few entries; an operator reads a step at most that much later.
/// While the ledger is unreachable the batch is tried again with growing waits and nothing is lost but what overflows
/// the queue; at shutdown, what is queued is written within the host's stop time.
/// </summary>
public sealed partial class HistoryWriter(RequestHistory history, HistoryRows rows, TimeProvider clock, ILogger<HistoryWriter> logger) : BackgroundService
{
    private const int MaxBatch = 512;

    /// <summary>
    /// How long a first entry waits for others. Each statement costs the database and the service a round trip, a plan
    /// and a commit whatever its rows: written as they came, the history was half of a submission's statements.
    /// </summary>
    internal static readonly TimeSpan GatherTime = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan MaxRetryInterval = TimeSpan.FromSeconds(10);

    /// <summary>The entries being written; what stopping interrupts is written by <see cref="StopAsync"/>.</summary>
    private readonly List<HistoryEntry> batch = new(MaxBatch);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await history.Pending.WaitToReadAsync(stoppingToken))
            {
                if (history.Pending.Count < MaxBatch)
                {
                    // A full batch is written at once: a burst is written as fast as the ledger takes it.
                    await Task.Delay(GatherTime, clock, stoppingToken);
                }

                Fill();
                await WriteAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is still queued is written by StopAsync.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            while ((batch.Count > 0 || history.Pending.TryPeek(out _)) && !cancellationToken.IsCancellationRequested)
            {
                Fill();
                await rows.AppendAsync(batch, cancellationToken);
                batch.Clear();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogLostAtStop(ex, batch.Count);
        }
    }

    private void Fill()
    {
        while (batch.Count < MaxBatch && history.Pending.TryRead(out var entry))
        {
            batch.Add(entry);
        }
    }

    /// <summary>Writes the batch, trying again while the ledger is unreachable; a batch that fails otherwise is dropped and logged.</summary>
    private async Task WriteAsync(CancellationToken stoppingToken)
    {
        var wait = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await rows.AppendAsync(batch, stoppingToken);
                batch.Clear();
                return;
            }
            catch (Exception ex) when (LedgerFaults.IsUnavailable(ex) && !stoppingToken.IsCancellationRequested)
            {
                LogLedgerUnavailable(batch.Count, wait);
                await Task.Delay(wait, clock, stoppingToken);
                wait = wait * 2 > MaxRetryInterval ? MaxRetryInterval : wait * 2;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogDropped(ex, batch.Count);
                batch.Clear();
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ledger is unreachable: {Count} history entries wait, tried again in {Wait}")]
    private partial void LogLedgerUnavailable(int count, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} history entries could not be written and are dropped")]
    private partial void LogDropped(Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} history entries could not be written before the service stopped")]
    private partial void LogLostAtStop(Exception exception, int count);
}
