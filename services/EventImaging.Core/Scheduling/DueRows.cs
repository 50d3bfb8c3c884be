using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Core.Scheduling;

/// <summary>
/// The due-row statements: claiming the rows whose next action is due, and putting each back with its next due time.
/// A cycle settles all its rows at once, so their reschedules are group-committed (see
/// <see cref="StatementBatcher{TItem,TResult}"/>): one statement puts back every row whose settling ended meanwhile.
/// </summary>
public sealed class DueRows : IAsyncDisposable
{
    /// <summary>
    /// Rows per reschedule statement: enough for a claimed batch of a thousand rows to go back in one or two statements;
    /// a larger claim goes back in several, so that no one statement holds its rows' locks for long.
    /// </summary>
    private const int MaxRescheduleBatch = 1_024;

    /// <summary>
    /// The reschedule, written once: a compare-and-set on the claim, over a row source <c>v</c> with the columns
    /// <c>id, owner, next_action_at, progress</c>. Only the claim's owner may put a row back, and only while the row is
    /// not terminal; a null progress keeps the row's.
    /// </summary>
    private static readonly string RescheduleSql = $$"""
        UPDATE image_requests AS r SET
            next_action_at = v.next_action_at,
            poll_count = r.poll_count + 1,
            progress = COALESCE(v.progress, r.progress),
            lease_owner = NULL,
            lease_until = NULL,
            updated_at = @now
        FROM {rows}
        WHERE r.request_id = v.id
            AND r.lease_owner = v.owner
            AND r.state IN ({{string.Join(", ", RequestTransitions.NotTerminal.Select(state => $"'{state}'"))}})
        RETURNING request_id
        """;

    private static readonly string PostgresRescheduleSql = RescheduleSql.Replace("{rows}", """
        unnest(@request_ids, @owners, @next_action_ats, @progresses) AS v(id, owner, next_action_at, progress)
        """, StringComparison.Ordinal);

    private static readonly string SqliteRescheduleSql = RescheduleSql.Replace("{rows}", """
        (SELECT @request_id AS id, @owner AS owner, @next_action_at AS next_action_at, @progress AS progress) AS v
        """, StringComparison.Ordinal);

    private readonly IDbContextFactory<LedgerDbContext> contexts;
    private readonly RequestMetrics metrics;
    private readonly TimeProvider clock;
    private readonly StatementBatcher<Reschedule, bool> reschedules;

    public DueRows(IDbContextFactory<LedgerDbContext> contexts, RequestMetrics metrics, TimeProvider clock)
    {
        this.contexts = contexts;
        this.metrics = metrics;
        this.clock = clock;
        reschedules = new(RescheduleBatchAsync, MaxRescheduleBatch);
    }

    /// <summary>
    /// Claims up to <paramref name="limit"/> due, unfinished rows for <paramref name="owner"/>. The candidates come from
    /// the partial index on <c>next_action_at</c> (cost follows the due rows, not the rows in flight), and are only rows
    /// the claim can take: unfinished and not leased, so rows that can never be claimed do not fill the page. The claim is
    /// one conditional update, so two replicas never hold the same row, and it makes the row due again only when its
    /// lease runs out: a row being worked on is not a candidate for anyone, and a worker that dies leaves it due.
    /// </summary>
    public async Task<List<ImageRequest>> ClaimAsync(string owner, int limit, TimeSpan leaseFor, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var candidates = await db.Requests.AsNoTracking()
            .Where(r => r.NextActionAt != null && r.NextActionAt <= now
                && RequestTransitions.NotTerminal.Contains(r.State)
                && (r.LeaseUntil == null || r.LeaseUntil < now))
            .OrderBy(r => r.NextActionAt)
            .Select(r => r.RequestId)
            .Take(limit)
            .ToListAsync(cancellationToken);
        if (candidates.Count == 0)
        {
            return [];
        }

        var until = now + leaseFor;
        // The candidates as one parameter (an array on PostgreSQL, JSON on SQLite): EF Core would otherwise send SQLite
        // one parameter per candidate, which a large claim spends most of its time binding.
        var claimed = await db.Requests
            .Where(r => EF.Parameter(candidates).Contains(r.RequestId) && r.NextActionAt != null && r.NextActionAt <= now
                && RequestTransitions.NotTerminal.Contains(r.State)
                && (r.LeaseUntil == null || r.LeaseUntil < now))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.LeaseOwner, owner)
                .SetProperty(r => r.LeaseUntil, until)
                .SetProperty(r => r.NextActionAt, until), cancellationToken);
        // The claimed rows are due at the end of their lease, so the due index finds them: looked up by id instead, a
        // large claim is a scan of every row in flight.
        return claimed == 0
            ? []
            : await db.Requests.AsNoTracking()
                .Where(r => r.NextActionAt == until && r.LeaseOwner == owner && r.LeaseUntil == until)
                .ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Puts a claimed, still-running row back with its next due time, one more poll counted and its claim ended; true when
    /// this claim (<paramref name="owner"/>) still held the row and it was not terminal. A null progress keeps the row's.
    /// </summary>
    public Task<bool> RescheduleAsync(Guid requestId, string owner, DateTimeOffset nextActionAt, int? progress, CancellationToken cancellationToken) =>
        reschedules.RunAsync(new Reschedule(requestId, owner, nextActionAt, progress), cancellationToken);

    /// <summary><see cref="RescheduleAsync"/> for many rows in one statement (a few when a row is named twice); one result per row, in order.</summary>
    internal Task<bool[]> RescheduleManyAsync(IReadOnlyList<Reschedule> rows, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return LedgerCommands.RunInRoundsAsync(contexts, rows, r => r.RequestId, (db, batch, ct) => db.Database.IsNpgsql()
            ? RescheduleOnPostgresAsync(db, batch, now, ct)
            : RescheduleOnSqliteAsync(db, batch, now, ct), cancellationToken);
    }

    /// <summary>Makes a submitted row due for a status query now (its callback was unreadable).</summary>
    public async Task MakeDueNowAsync(Guid requestId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Requests
            .Where(r => r.RequestId == requestId && r.State == RequestState.Submitted)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.NextActionAt, now).SetProperty(r => r.UpdatedAt, now), cancellationToken);
    }

    public ValueTask DisposeAsync() => reschedules.DisposeAsync();

    private async Task<IReadOnlyList<bool>> RescheduleBatchAsync(IReadOnlyList<Reschedule> rows, CancellationToken cancellationToken)
    {
        metrics.LedgerBatch("reschedule", rows.Count);
        return await RescheduleManyAsync(rows, cancellationToken);
    }

    private static async Task<HashSet<Guid>> RescheduleOnPostgresAsync(LedgerDbContext db, Reschedule[] rows, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = (NpgsqlCommand)db.Database.GetDbConnection().CreateCommand();
        command.CommandText = PostgresRescheduleSql;
        command.Parameters.Add(LedgerCommands.Array("request_ids", NpgsqlDbType.Uuid, rows.Select(r => r.RequestId)));
        command.Parameters.Add(LedgerCommands.Array("owners", NpgsqlDbType.Text, rows.Select(r => r.Owner)));
        // Npgsql writes a timestamptz only from an instant in UTC.
        command.Parameters.Add(LedgerCommands.Array("next_action_ats", NpgsqlDbType.TimestampTz, rows.Select(r => r.NextActionAt.ToUniversalTime())));
        command.Parameters.Add(LedgerCommands.Array("progresses", NpgsqlDbType.Integer, rows.Select(r => r.Progress)));
        command.AddColumnParameter(db, "now", nameof(ImageRequest.UpdatedAt), now);
        return await command.ReadRequestIdsAsync(cancellationToken);
    }

    private static async Task<HashSet<Guid>> RescheduleOnSqliteAsync(LedgerDbContext db, Reschedule[] rows, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var applied = new HashSet<Guid>();
        foreach (var row in rows)
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = SqliteRescheduleSql;
            command.AddColumnParameter(db, "request_id", nameof(ImageRequest.RequestId), row.RequestId);
            command.AddColumnParameter(db, "owner", nameof(ImageRequest.LeaseOwner), row.Owner);
            command.AddColumnParameter(db, "next_action_at", nameof(ImageRequest.NextActionAt), row.NextActionAt);
            command.AddColumnParameter(db, "progress", nameof(ImageRequest.Progress), row.Progress);
            command.AddColumnParameter(db, "now", nameof(ImageRequest.UpdatedAt), now);
            applied.UnionWith(await command.ReadRequestIdsAsync(cancellationToken));
        }

        return applied;
    }
}

/// <summary>One claimed row to put back: see <see cref="DueRows.RescheduleAsync"/>.</summary>
internal sealed record Reschedule(Guid RequestId, string Owner, DateTimeOffset NextActionAt, int? Progress);
