using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Report;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Scheduling;
using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// The database cost of one polling cycle: DueRows.ClaimAsync (the SQL EF Core sends, timed as issued and
/// with EXPLAIN (ANALYZE, BUFFERS)), then every claimed row put back at once through DueRows.RescheduleAsync, as the
/// polling fallback settles still-running tasks (its group commit turns them into a few multi-row statements).
/// In-flight rows are bulk-inserted (one INSERT … SELECT generate_series) and a chosen number made due.
/// </summary>
internal sealed class PollingSection(BenchContext context)
{
    private static readonly int DefaultBatch = new PollingOptions().BatchSize;
    private static readonly TimeSpan Lease = new PollingOptions().Lease;
    private static readonly TimeSpan RepetitionBudget = TimeSpan.FromSeconds(10);
    private static readonly string[] StatementNames = ["due candidates (SELECT … ORDER BY next_action_at LIMIT)", "claim (UPDATE … lease)", "read claimed rows (SELECT)"];

    private readonly CommandCapture capture = new();
    private string connection = null!;
    private DbContextOptions<LedgerDbContext> dbOptions = null!;

    private PooledDbContextFactory<LedgerDbContext> Contexts => contexts ??= new PooledDbContextFactory<LedgerDbContext>(dbOptions);

    private PooledDbContextFactory<LedgerDbContext>? contexts;
    private DueRows dueRows = null!;
    private IMeterFactory meters = null!;

    public async Task RunAsync()
    {
        context.Section("polling");
        // Each service bounds its pool to 16 connections; so does this one.
        connection = new NpgsqlConnectionStringBuilder(await context.Servers.Postgres.CreateDatabaseAsync($"{context.RunName}_poll")) { MaxPoolSize = 16 }.ConnectionString;
        dbOptions = new DbContextOptionsBuilder<LedgerDbContext>().UseNpgsql(connection).UseLedgerConventions().AddInterceptors(capture).Options;
        await using (var db = new LedgerDbContext(dbOptions))
        {
            await LedgerSchema.ApplyAsync(db, CancellationToken.None);
        }

        // One instance for the whole section, as a service holds one: every cycle's reschedules share its group commit.
        await using var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        meters = metrics.GetRequiredService<IMeterFactory>();
        await using var rows = new DueRows(Contexts, new RequestMetrics(meters, TimeProvider.System), TimeProvider.System);
        dueRows = rows;

        // The targets' rows: 1,000 and 10,000 due of 100,000 in flight. At the configured batch the claim's cost
        // shows it follows the batch, not the due or in-flight count.
        await SeedAsync(0, Targets.PollInFlight);
        foreach (var due in new[] { 1_000, 10_000 })
        {
            await MeasureAsync(Targets.PollInFlight, due);
        }
    }

    private async Task MeasureAsync(int inFlight, int due)
    {
        var dueAt = await MakeDueAsync(due);
        foreach (var batch in new[] { DefaultBatch, due })
        {
            // A first cycle compiles EF Core's queries; a running poller is past that.
            await CycleAsync(batch, dueAt);
            using var batchSizes = new BatchSizeListener(meters);
            var cycles = new List<(int Claimed, double ClaimMs, double SettleMs)>();
            var repetitions = context.Options.Quick ? 3 : 5;
            IReadOnlyList<CapturedCommand> claimSql = [];
            // A slow cycle (seconds) is measured fewer times: its median needs no more to stand out.
            var spent = Stopwatch.StartNew();
            for (var i = 0; i < repetitions && (i == 0 || spent.Elapsed < RepetitionBudget); i++)
            {
                var (claimed, claimMs, settleMs, commands) = await CycleAsync(batch, dueAt);
                cycles.Add((claimed, claimMs, settleMs));
                claimSql = commands;
            }

            var plans = await ExplainAsync(claimSql, text: false);
            if (inFlight >= 100_000 && due == 1_000)
            {
                context.Report.ClaimPlan += $"-- {due:N0} due of {inFlight:N0} in flight, batch {batch}\n" + string.Join("\n", (await ExplainAsync(claimSql, text: true)).Select(p => p.Plan)) + "\n";
            }

            var claim = Median(cycles.Select(c => c.ClaimMs));
            var settle = Median(cycles.Select(c => c.SettleMs));
            var result = new PollingResult(
                inFlight, due, batch, cycles[^1].Claimed, claim, settle, claim + settle,
                plans.Sum(p => p.ExecutionMs), plans.Sum(p => p.SharedHit + p.SharedRead), plans);
            context.Report.Polling.Add(result);
            context.Log($"{inFlight:N0} in flight, {due:N0} due, batch {batch}: claimed {result.Claimed}, claim {claim:F1} ms + settle {settle:F1} ms = {result.CycleMs:F1} ms; "
                + $"server {result.ServerMs:F1} ms, {result.Buffers} buffers; {batchSizes}");
            if (batch >= 1_000)
            {
                context.Report.Notes.Add($"Group commit of the reschedules, {inFlight:N0} in flight, {due:N0} due, batch {batch:N0}: {batchSizes}.");
            }
        }
    }

    private async Task<(int Claimed, double ClaimMs, double SettleMs, IReadOnlyList<CapturedCommand> Commands)> CycleAsync(int batch, DateTimeOffset dueAt)
    {
        var owner = $"bench:poll:{Guid.NewGuid():N}";
        List<ImageRequest> rows;
        capture.Take();
        capture.Recording = true;
        var clock = Stopwatch.StartNew();
        rows = await dueRows.ClaimAsync(owner, batch, Lease, CancellationToken.None);

        var claimMs = clock.Elapsed.TotalMilliseconds;
        capture.Recording = false;
        var commands = capture.Take();

        // What the polling fallback does for each claimed task that is still running: all at once.
        clock.Restart();
        await Task.WhenAll(rows.Select(row =>
            dueRows.RescheduleAsync(row.RequestId, owner, DateTimeOffset.UtcNow.AddSeconds(5), 50, CancellationToken.None)));
        var settleMs = clock.Elapsed.TotalMilliseconds;

        // Put the rows back, so that every repetition finds the same due rows.
        await ExecuteAsync(
            "UPDATE image_requests SET next_action_at = @dueAt, lease_owner = NULL, lease_until = NULL, poll_count = 0, progress = 0 WHERE request_id = ANY(@ids)",
            ("dueAt", dueAt.AddSeconds(-30)),
            ("ids", rows.Select(r => r.RequestId).ToArray()));
        return (rows.Count, claimMs, settleMs, commands);
    }

    private async Task SeedAsync(int from, int to)
    {
        var clock = Stopwatch.StartNew();
        await ExecuteAsync(
            """
            INSERT INTO image_requests (request_id, provider, model, state, command_json, provider_task_id, progress,
                submit_attempts, poll_count, attempt_in_flight, unknown_outcomes, next_action_at, deadline,
                created_at, updated_at, submitted_at)
            SELECT id, 'evolink', 'gpt-image-1.5', 'Submitted',
                json_build_object('requestId', id, 'prompt', 'A lighthouse at dusk, oil painting', 'size', '1024x1024',
                    'metadata', json_build_object('order', n::text, 'tenant', 'benchmark'))::text,
                'task-unified-' || (1800000000 + n) || '-' || lpad(to_hex(n), 8, '0'),
                0, 1, 0, false, 0,
                now() + interval '10 minutes' + random() * interval '20 minutes', now() + interval '30 minutes', now(), now(), now()
            FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(@from, @to - 1) AS n) AS seeded
            """,
            ("from", from),
            ("to", to));
        await ExecuteAsync("VACUUM ANALYZE image_requests");
        context.Log($"seeded {to - from:N0} in-flight rows (now {to:N0}) in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Every row back in the future, then <paramref name="due"/> random ones due; returns when they fell due.</summary>
    private async Task<DateTimeOffset> MakeDueAsync(int due)
    {
        var dueAt = DateTimeOffset.UtcNow;
        await ExecuteAsync(
            "UPDATE image_requests SET next_action_at = now() + interval '10 minutes' + random() * interval '20 minutes' WHERE next_action_at <= now() + interval '1 minute'");
        await ExecuteAsync(
            "UPDATE image_requests SET next_action_at = @dueAt - random() * interval '60 seconds' WHERE request_id IN (SELECT request_id FROM image_requests ORDER BY random() LIMIT @due)",
            ("dueAt", dueAt),
            ("due", due));
        await ExecuteAsync("VACUUM ANALYZE image_requests");
        return dueAt;
    }

    /// <summary>EXPLAIN (ANALYZE, BUFFERS) of the claim's statements in one transaction that is rolled back.</summary>
    private async Task<List<StatementPlan>> ExplainAsync(IReadOnlyList<CapturedCommand> commands, bool text)
    {
        var plans = new List<StatementPlan>();
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var transaction = await db.BeginTransactionAsync();
        for (var i = 0; i < commands.Count; i++)
        {
            var name = commands.Count == StatementNames.Length ? StatementNames[i] : commands[i].Sql.Split('\n')[0];
#pragma warning disable CA2100 // The statement is EF Core's own, captured as it was sent; its values stay parameters.
            await using var explain = new NpgsqlCommand($"EXPLAIN (ANALYZE, BUFFERS, FORMAT {(text ? "TEXT" : "JSON")}) {commands[i].Sql}", db, transaction);
#pragma warning restore CA2100
            explain.Parameters.AddRange(commands[i].Parameters.Select(p => p.Clone()).ToArray());
            if (text)
            {
                var lines = new StringBuilder();
                await using var reader = await explain.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    lines.AppendLine(reader.GetString(0));
                }

                plans.Add(new StatementPlan(name, commands[i].Sql, $"{commands[i].Sql}\n{lines}", 0, 0, 0, 0));
            }
            else
            {
                plans.Add(Summarise(name, commands[i].Sql, (string)(await explain.ExecuteScalarAsync())!));
            }
        }

        await transaction.RollbackAsync();
        return plans;
    }

    private static StatementPlan Summarise(string name, string sql, string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement[0];
        var plan = root.GetProperty("Plan");
        // A ModifyTable node returns nothing; the rows it touched are its input's.
        var rowsNode = plan.GetProperty("Node Type").GetString() == "ModifyTable" ? plan.GetProperty("Plans")[0] : plan;
        return new StatementPlan(
            name,
            sql,
            Describe(plan),
            rowsNode.GetProperty("Actual Rows").GetInt64(),
            plan.GetProperty("Shared Hit Blocks").GetInt64(),
            plan.GetProperty("Shared Read Blocks").GetInt64(),
            root.GetProperty("Execution Time").GetDouble() + root.GetProperty("Planning Time").GetDouble());
    }

    /// <summary>The plan's nodes depth first, e.g. "Limit → Index Scan (ix_image_requests_due)".</summary>
    private static string Describe(JsonElement node)
    {
        var name = node.GetProperty("Node Type").GetString() ?? "?";
        if (node.TryGetProperty("Index Name", out var index))
        {
            name += $" ({index.GetString()})";
        }
        else if (node.TryGetProperty("Relation Name", out var relation))
        {
            name += $" ({relation.GetString()})";
        }

        return node.TryGetProperty("Plans", out var children)
            ? $"{name} → {string.Join(" + ", children.EnumerateArray().Select(Describe))}"
            : name;
    }

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
#pragma warning disable CA2100 // Fixed statements of this class; values are parameters.
        await using var command = new NpgsqlCommand(sql, db) { CommandTimeout = 300 };
#pragma warning restore CA2100
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(value is Guid[] ids
                ? new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids }
                : new NpgsqlParameter(name, value));
        }

        await command.ExecuteNonQueryAsync();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : (sorted[(sorted.Length - 1) / 2] + sorted[sorted.Length / 2]) / 2;
    }
}
