using Microsoft.EntityFrameworkCore;
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
        await ApplyAsync(db, cancellationToken);
        logger.LogInformation("Ledger schema is up to date ({Provider})", db.Database.ProviderName);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static async Task ApplyAsync(LedgerDbContext db, CancellationToken cancellationToken)
    {
        if (db.Database.IsSqlite())
        {
            await db.Database.EnsureCreatedAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        else
        {
            await db.Database.MigrateAsync(cancellationToken);
        }
    }
}
