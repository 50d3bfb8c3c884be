using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Ledger;

/// <summary>
/// Brings the ledger schema up to date before anything else starts: PostgreSQL through migrations (concurrent
/// migrators wait for each other on an advisory lock), the embedded SQLite file by creating it.
/// </summary>
public sealed class LedgerSchema(IServiceScopeFactory scopes, IOptions<LedgerOptions> options, ILogger<LedgerSchema> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.MigrateOnStart)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LedgerDbContext>();
        var applied = await ApplyAsync(db, cancellationToken);
        if (applied.Count == 0)
        {
            logger.LogInformation("Ledger schema is up to date ({Provider})", db.Database.ProviderName);
        }
        else
        {
            logger.LogInformation("Ledger schema is up to date ({Provider}); applied {Migrations}", db.Database.ProviderName, string.Join(", ", applied));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Brings the schema up to date; returns the migrations this call found pending (none for SQLite).</summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(LedgerDbContext db, CancellationToken cancellationToken)
    {
        if (db.Database.IsSqlite())
        {
            await db.Database.EnsureCreatedAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            await RequireEveryTableAsync(db, cancellationToken);
            return [];
        }

        // Services starting together on an empty database each migrate it. EF Core's own migration lock does not hold
        // them apart (one of them can fail with "column ... already exists"), so the whole step runs under one
        // PostgreSQL advisory lock, taken on the connection the migration then uses and always released before that
        // connection goes back to the pool (the pool does not reset sessions).
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            // Tried and waited for here, not in one blocking call, which the command timeout would cut short while
            // another replica runs a long migration.
            while (!await db.Database.SqlQueryRaw<bool>($"SELECT pg_try_advisory_lock({MigrationLockKey}) AS \"Value\"").SingleAsync(cancellationToken))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }

            try
            {
                // On a fresh database, EF Core reads the history table before creating it and logs the failed read as an
                // error (dotnet/efcore#37328), which would greet every new deployment. Creating it first leaves nothing to fail.
                await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
                // An index built on a large ledger takes longer than a statement's usual timeout.
                var timeout = db.Database.GetCommandTimeout();
                db.Database.SetCommandTimeout(MigrationCommandTimeout);
                try
                {
                    await db.Database.MigrateAsync(cancellationToken);
                }
                finally
                {
                    db.Database.SetCommandTimeout(timeout);
                }

                return pending;
            }
            finally
            {
                await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// The embedded file is created from the model and never migrated: a file an older version created lacks the tables
    /// and columns added since, and would fail at the first statement that uses them. Said once, at start, with what to do.
    /// </summary>
    private static async Task RequireEveryTableAsync(LedgerDbContext db, CancellationToken cancellationToken)
    {
        var existing = await db.Database
            .SqlQueryRaw<string>("SELECT m.name || '.' || p.name AS \"Value\" FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'")
            .ToListAsync(cancellationToken);
        var missing = db.Model.GetEntityTypes()
            .SelectMany(e => e.GetProperties().Select(p => $"{e.GetTableName()}.{p.GetColumnName()}"))
            .Where(column => !existing.Contains(column))
            .ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"The embedded ledger file '{db.Database.GetDbConnection().DataSource}' was made by an older version of EventImaging and lacks "
                + $"{string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}. Delete the file (it holds only this machine's trial requests) "
                + "or point Ledger:SqlitePath at a new one.");
        }
    }

    private static readonly TimeSpan MigrationCommandTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The advisory lock every migrator of a ledger database takes: "EILEDGER" as a 64-bit number.</summary>
    private const long MigrationLockKey = 4992605522298881362;
}
