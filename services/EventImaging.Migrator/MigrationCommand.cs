using System.Data.Common;
using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventImaging.Migrator;

/// <summary>Applies the ledger's pending EF Core migrations and says which; exit code 0 when the schema is current.</summary>
public static partial class MigrationCommand
{
    public const int Success = 0;
    public const int DatabaseError = 1;
    public const int ConfigurationError = 2;

    public static async Task<int> RunAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MigrationCommand));
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LedgerDbContext>();
        var target = Describe(db);
        try
        {
            var pending = await LedgerSchema.ApplyAsync(db, cancellationToken);
            if (pending.Count == 0)
            {
                LogUpToDate(logger, target);
            }
            else
            {
                LogApplied(logger, pending.Count, target, string.Join(", ", pending));
            }

            return Success;
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException { InnerException: DbException } or TimeoutException)
        {
            LogFailed(logger, target, ex.Message);
            return DatabaseError;
        }
    }

    // Host and database only: the connection string's password stays out of the log.
    private static string Describe(LedgerDbContext db)
    {
        var connection = db.Database.GetDbConnection();
        return $"{connection.DataSource}/{connection.Database}";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The ledger schema at {Target} is already up to date")]
    private static partial void LogUpToDate(ILogger logger, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Count} migration(s) to the ledger at {Target}: {Migrations}")]
    private static partial void LogApplied(ILogger logger, int count, string target, string migrations);

    [LoggerMessage(Level = LogLevel.Error, Message = "Migrating the ledger at {Target} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string target, string reason);
}
