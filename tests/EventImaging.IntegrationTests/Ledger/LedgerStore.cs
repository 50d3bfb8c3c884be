using System.Diagnostics.Metrics;
using EventImaging.Contracts;
using EventImaging.Core.Configuration;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Scheduling;
using EventImaging.Core.Submission;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventImaging.IntegrationTests.Ledger;

/// <summary>
/// The ledger alone, on a fresh PostgreSQL database or a fresh embedded SQLite file, composed as the services compose it
/// (<c>AddLedger</c>) with the features' statement classes: what the ledger's suite runs against, once per database.
/// </summary>
public sealed class LedgerStore : IAsyncDisposable
{
    private readonly IHost host;
    private readonly string? sqliteFile;

    private LedgerStore(IHost host, string? sqliteFile)
    {
        this.host = host;
        this.sqliteFile = sqliteFile;
    }

    public RequestRows Rows => host.Services.GetRequiredService<RequestRows>();

    public TerminalRows Terminal => host.Services.GetRequiredService<TerminalRows>();

    public OutboxRows Outbox => host.Services.GetRequiredService<OutboxRows>();

    public SubmitLeases Leases => host.Services.GetRequiredService<SubmitLeases>();

    public DueRows Due => host.Services.GetRequiredService<DueRows>();

    public HistoryRows History => host.Services.GetRequiredService<HistoryRows>();

    /// <summary>The ledger's <c>Ledger:HistoryLimit</c>: entries kept per request.</summary>
    public int HistoryLimit => host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LedgerOptions>>().Value.HistoryLimit;

    /// <summary>Counts the group-committed statements this ledger runs from now on.</summary>
    public LedgerBatchSizes ListenToBatches() => new(host.Services.GetRequiredService<IMeterFactory>());

    public static async Task<LedgerStore> OnPostgresAsync(PostgresFixture postgres) =>
        await StartAsync(new Dictionary<string, string?> { ["ConnectionStrings:Ledger"] = await postgres.CreateDatabaseAsync() }, null);

    public static Task<LedgerStore> OnSqliteAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"ledger-{Guid.NewGuid():N}.db");
        return StartAsync(new Dictionary<string, string?> { [EmbeddedMode.Key] = "true", ["Ledger:SqlitePath"] = file }, file);
    }

    private static async Task<LedgerStore> StartAsync(Dictionary<string, string?> settings, string? sqliteFile)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddLedger();
        builder.Services.AddOptions<OutboxOptions>();
        builder.Services.AddSingleton<TerminalRows>();
        builder.Services.AddSingleton<OutboxRows>();
        builder.Services.AddSingleton<SubmitLeases>();
        builder.Services.AddSingleton<DueRows>();
        var host = builder.Build();
        await host.StartAsync();
        return new LedgerStore(host, sqliteFile);
    }

    /// <summary>A received row, due at <paramref name="dueAt"/> when given.</summary>
    public async Task<Guid> InsertReceivedAsync(DateTimeOffset? dueAt = null, string provider = "evolink")
    {
        var row = NewReceived(Guid.NewGuid(), provider);
        row.NextActionAt = dueAt;
        Assert.True(await Rows.TryInsertAsync(row, CancellationToken.None));
        return row.RequestId;
    }

    /// <summary>A received row not yet recorded.</summary>
    public static ImageRequest NewReceived(Guid requestId, string provider = "evolink") => new()
    {
        RequestId = requestId,
        Provider = provider,
        Model = "gpt-image-1.5",
        State = RequestState.Received,
        CommandJson = $$"""{"requestId":"{{requestId}}","prompt":"p"}""",
        Deadline = DateTimeOffset.UtcNow.AddMinutes(5),
    };

    public async Task<ImageRequest> RowAsync(Guid requestId) => (await Rows.FindAsync(requestId, CancellationToken.None))!;

    /// <summary>Every history entry written for the request, in write order: what the table holds, not what a lookup shows.</summary>
    public async Task<List<HistoryEntry>> HistoryRowsAsync(Guid requestId)
    {
        await using var db = await host.Services.GetRequiredService<IDbContextFactory<LedgerDbContext>>().CreateDbContextAsync();
        return await db.History.AsNoTracking().Where(h => h.RequestId == requestId).OrderBy(h => h.Id).ToListAsync();
    }

    public static TerminalOutcome Completed(Guid requestId) => TerminalOutcome.Of(new ImageCompleted
    {
        RequestId = requestId,
        Provider = "evolink",
        Model = "gpt-image-1.5",
        ProviderTaskId = "task-1",
        ImageUrls = ["https://files.example/a.png"],
        UrlsExpireAt = DateTimeOffset.UtcNow.AddHours(24),
        CompletedVia = CompletionPaths.Callback,
        CompletedAt = DateTimeOffset.UtcNow,
    });

    public static TerminalOutcome Failed(Guid requestId) => TerminalOutcome.Of(new ImageFailed
    {
        RequestId = requestId,
        Provider = "evolink",
        Model = "gpt-image-1.5",
        Code = FailureCodes.ProviderError,
        Message = "m",
        Retryable = true,
        FailedAt = DateTimeOffset.UtcNow,
    });

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        // DueRows' group commit is disposed only asynchronously: its writer loop is awaited.
        await ((IAsyncDisposable)host).DisposeAsync();
        Npgsql.NpgsqlConnection.ClearAllPools();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in sqliteFile is null ? [] : new[] { sqliteFile, $"{sqliteFile}-wal", $"{sqliteFile}-shm" })
        {
            File.Delete(file);
        }
    }
}
