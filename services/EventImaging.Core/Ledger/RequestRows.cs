using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace EventImaging.Core.Ledger;

/// <summary>
/// The ledger's shared core: reading rows and recording a new one. The writes of each workflow (the submit lease, the
/// due-row claims, the terminal transition and its outbox) live beside their features, over the same context pool.
/// </summary>
public sealed class RequestRows(IDbContextFactory<LedgerDbContext> contexts, TimeProvider clock)
{
    // The callback path's read, compiled once: EF Core otherwise re-walks the expression tree on every batch.
    private static readonly Func<LedgerDbContext, Guid[], IAsyncEnumerable<ImageRequest>> FindMany =
        EF.CompileAsyncQuery((LedgerDbContext db, Guid[] requestIds) => db.Requests.AsNoTracking().Where(r => requestIds.Contains(r.RequestId)));

    // The PostgreSQL insert's text depends on the model only: built once, not on every batch.
    private static string? postgresInsertSql;

    public async Task<ImageRequest?> FindAsync(Guid requestId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Requests.AsNoTracking().SingleOrDefaultAsync(r => r.RequestId == requestId, cancellationToken);
    }

    /// <summary>The rows of <paramref name="requestIds"/> that exist, read in one statement.</summary>
    public async Task<List<ImageRequest>> FindManyAsync(IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = new List<ImageRequest>(requestIds.Count);
        await foreach (var row in FindMany(db, [.. requestIds]).WithCancellation(cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Inserts the row unless one with the same request id exists; false for a duplicate.</summary>
    public async Task<bool> TryInsertAsync(ImageRequest request, CancellationToken cancellationToken)
    {
        using var span = RequestTracing.StartTransition(request.RequestId, request.State);
        return span.Won((await TryInsertManyAsync([request], cancellationToken))[0]);
    }

    /// <summary>
    /// Inserts each row unless one with the same request id exists (a duplicate is not an error, so nothing logs one);
    /// one result per row, in order: true for the row inserted. Of two rows with the same request id only the first is.
    /// Every column is written as the row holds it; the insert and update instants are set here. PostgreSQL takes the
    /// rows as one array per column, so the statement's text is the same for any number of rows and is prepared once per
    /// connection; SQLite takes them as a multi-row <c>VALUES</c>.
    /// </summary>
    public Task<bool[]> TryInsertManyAsync(IReadOnlyList<ImageRequest> requests, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return LedgerCommands.RunInRoundsAsync(contexts, requests, r => r.RequestId, (command, db, rows) =>
        {
            var columns = db.Model.FindEntityType(typeof(ImageRequest))!.GetProperties().ToArray();
            foreach (var row in rows)
            {
                row.CreatedAt = now;
                row.UpdatedAt = now;
            }

            if (db.Database.IsNpgsql())
            {
                command.CommandText = postgresInsertSql ??= InsertSql(columns, $"SELECT * FROM unnest({string.Join(", ", columns.Select((_, c) => $"@c{c}"))})");
                for (var c = 0; c < columns.Length; c++)
                {
                    var getter = columns[c].GetGetter();
                    command.Parameters.Add(LedgerCommands.ColumnArray($"c{c}", columns[c], [.. rows.Select(getter.GetClrValue)]));
                }

                return;
            }

            command.CommandText = InsertSql(columns, "VALUES " + string.Join(", ", rows.Select((_, i) => $"({string.Join(", ", columns.Select((_, c) => $"@p{i}_{c}"))})")));
            for (var i = 0; i < rows.Length; i++)
            {
                for (var c = 0; c < columns.Length; c++)
                {
                    command.AddColumnParameter($"p{i}_{c}", columns[c], columns[c].GetGetter().GetClrValue(rows[i]));
                }
            }
        }, cancellationToken);
    }

    /// <summary>One insert of the rows <paramref name="source"/> gives that skips a request id already recorded.</summary>
    private static string InsertSql(IProperty[] columns, string source) =>
        $"INSERT INTO image_requests ({string.Join(", ", columns.Select(c => c.GetColumnName()))}) {source} ON CONFLICT (request_id) DO NOTHING RETURNING request_id";
}
