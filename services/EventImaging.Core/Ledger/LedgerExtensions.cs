using EventImaging.Core.Configuration;
using EventImaging.Core.Outbox;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using EventImaging.Core.Submission;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Ledger;

public static class LedgerExtensions
{
    public const string LedgerConnection = "Ledger";

    private const int DefaultMaxPoolSize = 16;

    /// <summary>
    /// The ledger on PostgreSQL (<c>ConnectionStrings:Ledger</c>), or on a SQLite file in embedded mode
    /// (<c>Ledger:SqlitePath</c>); the DataProtection key ring in the same database; the outbox sweeper and the
    /// ledger gauges.
    /// </summary>
    public static IHostApplicationBuilder AddLedger(this IHostApplicationBuilder builder)
    {
        builder.AddLedgerDatabase();
        builder.Services.AddOptions<LedgerOptions>().BindConfiguration(LedgerOptions.Section);
        builder.Services.AddHostedService<LedgerSchema>();
        builder.Services.AddScoped<RequestLedger>();
        builder.Services.AddSingleton<LedgerBatches>();
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<RequestMetrics>();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddDataProtection()
            .SetApplicationName("EventImaging")
            .PersistKeysToDbContext<LedgerDbContext>();

        builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section)
            .Validate(o => o.SweepInterval > TimeSpan.Zero && o.BatchSize > 0, "Outbox:SweepInterval and Outbox:BatchSize must be positive.")
            .ValidateOnStart();
        builder.Services.AddScoped<TerminalEventPublisher>();
        builder.Services.TryAddSingleton<WorkerIdentity>();
        builder.Services.AddSingleton<OutboxSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxSweeper>());

        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section)
            .Validate(o => o.GaugeInterval > TimeSpan.Zero, "Telemetry:GaugeInterval must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<LedgerGauges>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerGauges>());
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
            builder.Services.AddDbContextPool<LedgerDbContext>(o => o.UseSqlite(sqlite));
        }
        else
        {
            // Pooled contexts on options built once: every callback and submission opens several contexts, and
            // building options (parsing the connection string, finding EF's internal services) each time cost more
            // CPU than the statements themselves.
            var npgsql = WithPoolSettings(connection);
            builder.Services.AddDbContextPool<LedgerDbContext>(o => o.UseNpgsql(npgsql));
        }

        return builder;
    }

    /// <summary>
    /// Npgsql's pool may grow to 100 connections per process, PostgreSQL's own default limit: a few replicas
    /// under load would exhaust the server. Unless the connection string says otherwise, each service keeps at
    /// most <see cref="DefaultMaxPoolSize"/>, and waits for a free one rather than failing.
    /// Every ledger statement runs on a connection rented from the pool and returned at once, and the ledger keeps
    /// no session state (no SET, temporary table or session lock outlives its statement), so Npgsql's reset of a
    /// returned connection (a DISCARD ALL sent with the next statement: a third of the database's CPU per
    /// callback) is skipped too, unless the connection string sets <c>No Reset On Close</c> itself.
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

        return builder.ConnectionString;
    }

    private static bool Names(string connection, params string[] keys) =>
        keys.Any(key => connection.Contains(key, StringComparison.OrdinalIgnoreCase));
}
