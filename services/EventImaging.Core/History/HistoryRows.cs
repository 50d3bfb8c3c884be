using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Core.History;

/// <summary>The history's statements: appending a batch of entries, and reading one request's timeline.</summary>
public sealed class HistoryRows(IDbContextFactory<LedgerDbContext> contexts, IOptions<LedgerOptions> options)
{
    /// <summary>
    /// Appends the entries in one statement, in order, except those past the request's <c>Ledger:HistoryLimit</c>
    /// (<see cref="HistoryKinds.IsAlwaysKept"/> kinds are always written). The entries already written count, and so do
    /// the batch's own earlier entries for the same request: a flood gathered into one batch stops at the limit. Two
    /// processes writing for the same request at the same moment can each take it to the limit.
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<HistoryEntry> entries, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (db.Database.IsNpgsql())
        {
            await AppendOnPostgresAsync(db, entries, cancellationToken);
            return;
        }

        var ids = entries.Select(e => e.RequestId).Distinct().ToList();
        var counts = await db.History.Where(h => ids.Contains(h.RequestId)).GroupBy(h => h.RequestId)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        foreach (var entry in entries)
        {
            var count = counts.GetValueOrDefault(entry.RequestId);
            if (HistoryKinds.IsAlwaysKept(entry.Kind) || count < options.Value.HistoryLimit)
            {
                db.History.Add(entry);
                counts[entry.RequestId] = count + 1;
            }
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    private const string AppendSql = """
        INSERT INTO request_history (request_id, at, kind, detail)
        SELECT v.request_id, v.at, v.kind, v.detail
        FROM (
            SELECT u.*, row_number() OVER (PARTITION BY u.request_id ORDER BY u.n) - 1 AS earlier
            FROM unnest(@request_ids, @ats, @kinds, @details) WITH ORDINALITY AS u(request_id, at, kind, detail, n)
        ) AS v
        WHERE v.kind = ANY(@always_kept)
            OR (SELECT count(*) FROM request_history h WHERE h.request_id = v.request_id) + v.earlier < @limit
        ORDER BY v.n
        """;

    private async Task AppendOnPostgresAsync(LedgerDbContext db, IReadOnlyList<HistoryEntry> entries, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = (NpgsqlCommand)db.Database.GetDbConnection().CreateCommand();
            command.CommandText = AppendSql;
            command.Parameters.Add(new NpgsqlParameter("request_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = entries.Select(e => e.RequestId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("ats", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = entries.Select(e => e.At).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("kinds", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entries.Select(e => e.Kind).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entries.Select(e => e.Detail).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("always_kept", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = HistoryKinds.AlwaysKept });
            command.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Bigint) { Value = (long)options.Value.HistoryLimit });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// The request's history, oldest first: its first <c>Ledger:HistoryLimit</c> entries and every later one of a kind
    /// always kept. The cap keeps a history written before a lower limit from being read whole; two processes writing at
    /// the same moment can take a request past the limit, and the terminal transition must still show.
    /// </summary>
    public async Task<List<HistoryEntry>> ForRequestAsync(Guid requestId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var limit = options.Value.HistoryLimit;
        var entries = await db.History.AsNoTracking().Where(h => h.RequestId == requestId).OrderBy(h => h.Id).Take(limit)
            .ToListAsync(cancellationToken);
        if (entries.Count == limit && limit > 0)
        {
            var last = entries[^1].Id;
            entries.AddRange(await db.History.AsNoTracking()
                .Where(h => h.RequestId == requestId && h.Id > last && HistoryKinds.AlwaysKept.Contains(h.Kind)).OrderBy(h => h.Id)
                .ToListAsync(cancellationToken));
        }

        return entries;
    }
}
