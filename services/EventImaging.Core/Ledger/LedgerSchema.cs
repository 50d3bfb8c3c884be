using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Ledger;

/// <summary>
/// Brings the ledger schema up to date before anything else starts: PostgreSQL through migrations (EF Core
/// serialises concurrent migrators with a database lock), the embedded SQLite file by creating it.
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
            return [];
        }

        // On a fresh database, EF Core reads the history table before creating it and logs the failed read as an
        // error (dotnet/efcore#37328), which would greet every new deployment. Creating it first (CREATE TABLE IF
        // NOT EXISTS, safe with concurrent migrators) leaves nothing to fail.
        await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        await db.Database.MigrateAsync(cancellationToken);
        return pending;
    }
}
