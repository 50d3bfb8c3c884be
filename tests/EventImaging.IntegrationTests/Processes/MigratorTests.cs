using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventImaging.IntegrationTests.Processes;

/// <summary>The migrator is the deployment's schema step: it applies the ledger's migrations once and says what it did.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class MigratorTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The ledger's migrations, as the assembly holds them.</summary>
    private static readonly int Migrations = typeof(LedgerDbContext).Assembly.GetTypes()
        .Count(t => t.IsSubclassOf(typeof(Microsoft.EntityFrameworkCore.Migrations.Migration)) && !t.IsAbstract);

    [Fact]
    public async Task It_applies_every_migration_to_an_empty_database_then_finds_nothing_to_do()
    {
        var ledger = await postgres.CreateDatabaseAsync();
        var environment = new Dictionary<string, string?> { ["ConnectionStrings:Ledger"] = ledger };

        var first = await ServiceProcess.RunToExitAsync("EventImaging.Migrator", environment, Timeout);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains($"Applied {Migrations} migration(s) to the ledger", first.Output, StringComparison.Ordinal);
        // A fresh database is the normal case, not an error: EF Core's read of a missing history table stays unlogged.
        Assert.DoesNotContain("Failed executing DbCommand", first.Output, StringComparison.Ordinal);
        Assert.Equal((long)Migrations, await ScalarAsync(ledger, "SELECT count(*) FROM \"__EFMigrationsHistory\""));
        Assert.Equal(0L, await ScalarAsync(ledger, "SELECT count(*) FROM image_requests"));

        var second = await ServiceProcess.RunToExitAsync("EventImaging.Migrator", environment, Timeout);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("is already up to date", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Services_migrating_one_empty_database_at_once_all_start()
    {
        // As every replica does with Ledger:MigrateOnStart: before the advisory lock, one of two crashed in half the tries.
        for (var round = 0; round < 5; round++)
        {
            var ledger = await postgres.CreateDatabaseAsync();
            var migrators = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                var options = new DbContextOptionsBuilder<LedgerDbContext>().UseNpgsql(ledger).UseLedgerConventions().Options;
                await using var db = new LedgerDbContext(options);
                return await LedgerSchema.ApplyAsync(db, CancellationToken.None);
            }));

            var applied = await Task.WhenAll(migrators);

            // Each migration was applied by exactly one of them; the others found nothing left to do.
            Assert.Equal(Migrations, applied.Sum(a => a.Count));
            Assert.Equal((long)Migrations, await ScalarAsync(ledger, "SELECT count(*) FROM \"__EFMigrationsHistory\""));
            Assert.False(await ScalarAsync(ledger, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") > 0, "the advisory lock outlived the migration");
        }
    }

    [Fact]
    public async Task Without_a_connection_string_it_names_the_missing_setting()
    {
        var run = await ServiceProcess.RunToExitAsync("EventImaging.Migrator", new Dictionary<string, string?>(), Timeout);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("ConnectionStrings__Ledger", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_database_fails_with_a_message_and_without_the_password()
    {
        var unreachable = "Host=127.0.0.1;Port=1;Username=eventimaging;Password=secret-pw-4411;Database=ledger;Timeout=3";
        var run = await ServiceProcess.RunToExitAsync("EventImaging.Migrator", new Dictionary<string, string?> { ["ConnectionStrings:Ledger"] = unreachable }, Timeout);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("Migrating the ledger at tcp://127.0.0.1:1/ledger failed", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw-4411", run.Output, StringComparison.Ordinal);
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
