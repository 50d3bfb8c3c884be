using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Core.Outbox;

/// <summary>The outbox's statements over terminal rows: which events wait, who republishes one, and that one reached the broker.</summary>
public sealed class OutboxRows(IDbContextFactory<LedgerDbContext> contexts, TimeProvider clock)
{
    /// <summary>Which rows a mark applies to: terminal, with an event, not yet marked.</summary>
    private const string MarkSql = """
        UPDATE image_requests SET event_published_at = @now
        WHERE request_id = ANY(@request_ids) AND event_published_at IS NULL AND event_json IS NOT NULL AND finished_at IS NOT NULL
        """;

    /// <summary>
    /// Records that the events of <paramref name="requestIds"/> reached the broker, in one statement. Every callback runs
    /// it, so on PostgreSQL it is SQL of its own: no query to translate and parameterise each time.
    /// </summary>
    public async Task<int> MarkEventsPublishedAsync(IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (db.Database.IsNpgsql())
        {
            return await db.Database.ExecuteSqlRawAsync(
                MarkSql,
                [new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = now }, LedgerCommands.Array("request_ids", NpgsqlDbType.Uuid, requestIds)],
                cancellationToken);
        }

        return await db.Requests
            .Where(r => requestIds.Contains(r.RequestId) && r.EventPublishedAt == null && r.EventJson != null && r.FinishedAt != null)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.EventPublishedAt, now), cancellationToken);
    }

    /// <summary>Claims an unpublished terminal row for one sweeper, so that replicas do not republish it together.</summary>
    public async Task<bool> TryClaimForPublishAsync(Guid requestId, string owner, TimeSpan claimFor, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = now + claimFor;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Requests
            .Where(r => r.RequestId == requestId && r.EventPublishedAt == null && r.FinishedAt != null
                && (r.LeaseUntil == null || r.LeaseUntil < now))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.LeaseOwner, owner)
                .SetProperty(r => r.LeaseUntil, until), cancellationToken) == 1;
    }

    /// <summary>Terminal rows whose event is not yet marked published and whose publish lease has passed.</summary>
    public async Task<List<ImageRequest>> FindUnpublishedAsync(int limit, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Requests.AsNoTracking()
            .Where(r => r.EventPublishedAt == null && r.FinishedAt != null && (r.LeaseUntil == null || r.LeaseUntil < now))
            .OrderBy(r => r.FinishedAt)
            .Take(limit)
            .ToListAsync(cancellationToken);
    }
}
