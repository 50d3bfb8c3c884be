using System.Data.Common;

namespace EventImaging.Core.Ledger;

/// <summary>
/// The one rule for "the ledger database cannot be reached right now": a transient database error (a refused or cut
/// connection, a restarting server, a database that does not accept connections, a timeout) anywhere in the chain of
/// inner exceptions, since EF Core and DataProtection wrap the driver's. Such a fault delays work; it never fails a
/// request. A permanent database error (a constraint, a value that does not fit) is not one.
/// </summary>
public static class LedgerFaults
{
    public static bool IsUnavailable(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case DbException db when db.IsTransient || IsUnavailableState(db.SqlState):
                case TimeoutException:
                case System.Net.Sockets.SocketException:
                    return true;
                case AggregateException aggregate:
                    return aggregate.InnerExceptions.Any(IsUnavailable);
            }
        }

        return false;
    }

    // Connection exceptions (08), insufficient resources (53), operator intervention such as a shutdown (57), system
    // errors (58), 55000 (a database refusing connections: ALTER DATABASE ... ALLOW_CONNECTIONS false), and the states of
    // a ledger that is being set up, changed or failed over: credentials rotating (28000, 28P01), the database or its
    // tables not there yet (3D000, 42P01: a service started before the migration step), a read-only standby (25006), and
    // a statement prepared on a connection before a migration changed a column it returns (0A000, "cached plan must not
    // change result type": the driver drops the prepared statement, and the next try prepares it again).
    private static bool IsUnavailableState(string? sqlState) =>
        sqlState is { Length: 5 } && (sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("53", StringComparison.Ordinal)
            || sqlState.StartsWith("57", StringComparison.Ordinal) || sqlState.StartsWith("58", StringComparison.Ordinal)
            || sqlState is "55000" or "28000" or "28P01" or "3D000" or "42P01" or "25006" or "0A000");
}
