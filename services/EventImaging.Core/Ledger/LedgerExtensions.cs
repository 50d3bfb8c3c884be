using EventImaging.Core.Configuration;
using EventImaging.Core.History;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Telemetry;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Ledger;

public static class LedgerExtensions
{
    public const string LedgerConnection = "Ledger";

    private const int DefaultMaxPoolSize = 16;

    private const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// The ledger on PostgreSQL (<c>ConnectionStrings:Ledger</c>), or on a SQLite file in embedded mode
    /// (<c>Ledger:SqlitePath</c>): its schema, its readiness check, the DataProtection key ring in the same database, and
    /// the shared core the features' statements run on (<see cref="RequestRows"/>, <see cref="LedgerRetry"/>).
    /// </summary>
    public static IHostApplicationBuilder AddLedger(this IHostApplicationBuilder builder)
    {
        builder.AddLedgerDatabase();
        builder.Services.AddOptions<LedgerOptions>().BindConfiguration(LedgerOptions.Section)
            .Validate(o => o.Retention >= TimeSpan.Zero, "Ledger:Retention must not be negative (0 keeps everything).")
            .Validate(o => o.RetentionInterval > TimeSpan.Zero, "Ledger:RetentionInterval must be positive.")
            .Validate(o => o.RetentionBatchSize is > 0 and <= 10_000, "Ledger:RetentionBatchSize must be between 1 and 10000.")
            .Validate(o => o.HistoryLimit > 0, "Ledger:HistoryLimit must be positive.")
            .ValidateOnStart();
        builder.Services.AddHostedService<LedgerSchema>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<WorkerIdentity>();
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<RequestMetrics>();
        builder.Services.AddSingleton<RequestRows>();
        builder.Services.AddSingleton<LedgerRetry>();
        // Every service that works on requests records what it did; the writer stops after the services that record.
        builder.Services.AddSingleton<RequestHistory>();
        builder.Services.AddSingleton<HistoryRows>();
        builder.Services.AddHostedService<HistoryWriter>();
        builder.Services.AddHealthChecks().AddDbContextCheck<LedgerDbContext>("ledger", tags: [ServiceDefaultsExtensions.ReadyTag]);

        builder.Services.AddDataProtection()
            .SetApplicationName("EventImaging")
            .PersistKeysToDbContext<LedgerDbContext>();
        return builder;
    }

    /// <summary>The ledger's database alone: what the migrator needs.</summary>
    public static IHostApplicationBuilder AddLedgerDatabase(this IHostApplicationBuilder builder)
    {
        var connection = builder.Configuration.GetConnectionString(LedgerConnection);
        if (string.IsNullOrWhiteSpace(connection))
        {
            if (!builder.IsEmbedded())
            {
                throw EmbeddedMode.MissingSetting("ConnectionStrings:Ledger", "this service needs the PostgreSQL ledger database.");
            }

            var path = builder.Configuration["Ledger:SqlitePath"] ?? new LedgerOptions().SqlitePath;
            // Default Timeout makes writers wait for SQLite's single write lock instead of failing at once.
            var sqlite = $"Data Source={path};Default Timeout=30";
            builder.AddLedgerContexts(o => o.UseSqlite(sqlite).UseLedgerConventions());
        }
        else
        {
            var npgsql = WithPoolSettings(connection);
            builder.AddLedgerContexts(o => o.UseNpgsql(npgsql).UseLedgerConventions());
        }

        return builder;
    }

    /// <summary>
    /// Pooled contexts on options built once: every callback and submission opens several contexts, and building options
    /// for each (parsing the connection string, finding EF Core's internal services) would cost more than the statements
    /// they run. The features' statements take a context from the pool for each statement; a scope's own context (the
    /// migrator's, the health check's, the key ring's) comes from the same pool.
    /// </summary>
    private static void AddLedgerContexts(this IHostApplicationBuilder builder, Action<DbContextOptionsBuilder> configure)
    {
        builder.Services.AddPooledDbContextFactory<LedgerDbContext>(configure);
        builder.Services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<LedgerDbContext>>().CreateDbContext());
    }

    /// <summary>
    /// Npgsql's pool may grow to 100 connections per process, PostgreSQL's own default limit: a few replicas
    /// under load would exhaust the server. Unless the connection string says otherwise, each service keeps at
    /// most <see cref="DefaultMaxPoolSize"/>, and waits for a free one rather than failing.
    /// Every ledger statement runs on a connection rented from the pool and returned at once, and the ledger keeps
    /// no session state (no SET, temporary table or session lock outlives its statement), so Npgsql's reset of a
    /// returned connection (a DISCARD ALL sent with the next statement: database work on every callback that
    /// buys nothing here) is skipped too, unless the connection string sets <c>No Reset On Close</c> itself.
    /// </summary>
    internal static string WithPoolSettings(string connection)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connection);
        if (!Names(connection, "Maximum Pool Size", "MaxPoolSize", "Max Pool Size"))
        {
            builder.MaxPoolSize = DefaultMaxPoolSize;
        }

        if (!Names(connection, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        if (!Names(connection, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        return builder.ConnectionString;
    }

    private static bool Names(string connection, params string[] keys) =>
        keys.Any(key => connection.Contains(key, StringComparison.OrdinalIgnoreCase));
}
