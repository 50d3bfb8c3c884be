using EventImaging.Core.Ledger;
using MassTransit;

namespace EventImaging.Core.Messaging;

public static class LedgerOutageRetry
{
    /// <summary>The longest wait between two tries of a command while the ledger is unreachable.</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A command consumed while the ledger is unreachable is tried again in place for as long as the outage lasts (growing
    /// intervals up to <see cref="MaxInterval"/>): nothing can be recorded meanwhile, the message stays unacknowledged
    /// (redelivered if this replica dies), and sending it to the error queue would lose it. Any other fault is not
    /// retried: it would fail the same way, so the message goes to the error queue at once.
    /// </summary>
    public static void UseLedgerOutageRetry(this IReceiveEndpointConfigurator endpoint) =>
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(LedgerFaults.IsUnavailable);
            retry.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(200), MaxInterval, TimeSpan.FromMilliseconds(500));
        });
}
