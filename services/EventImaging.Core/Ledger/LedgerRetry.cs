using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Ledger;

/// <summary>
/// Writes what only this process knows, retrying while the ledger is unreachable (<see cref="LedgerFaults.IsUnavailable"/>),
/// until a given instant: past it another worker may act on the row, so the fault is let through.
/// </summary>
public sealed partial class LedgerRetry(TimeProvider clock, ILogger<LedgerRetry> logger)
{
    private static readonly TimeSpan FirstWait = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(5);

    public async Task<T> UntilAsync<T>(DateTimeOffset until, Func<Task<T>> write, CancellationToken cancellationToken)
    {
        var wait = FirstWait;
        while (true)
        {
            ExceptionDispatchInfo fault;
            try
            {
                return await write();
            }
            catch (Exception ex) when (LedgerFaults.IsUnavailable(ex) && clock.GetUtcNow() + wait < until)
            {
                fault = ExceptionDispatchInfo.Capture(ex);
                LogRetry(wait);
            }

            await Task.Delay(wait, clock, cancellationToken);
            if (clock.GetUtcNow() >= until)
            {
                fault.Throw(); // the wait overran the instant: trying now could race the worker that owns the row next
            }

            wait = wait * 2 < LongestWait ? wait * 2 : LongestWait;
        }
    }

    public Task UntilAsync(DateTimeOffset until, Func<Task> write, CancellationToken cancellationToken) =>
        UntilAsync(until, async () =>
        {
            await write();
            return true;
        }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ledger is unreachable; recording again in {Wait}")]
    private partial void LogRetry(TimeSpan wait);
}
