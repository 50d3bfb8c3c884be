using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore;

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
        var now = clock.GetUtcNow();
        request.CreatedAt = now;
        request.UpdatedAt = now;
        using var span = RequestTracing.StartTransition(request.RequestId, request.State);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // A redelivered or republished command is the common duplicate: found here, it costs one read instead of a
        // failed INSERT, which EF Core would log as an error. Two copies racing still meet the unique key below.
        if (await ExistsAsync(db, request.RequestId, cancellationToken))
        {
            return span.Won(false);
        }

        db.Requests.Add(request);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return span.Won(true);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            if (await ExistsAsync(db, request.RequestId, cancellationToken))
            {
                return span.Won(false);
            }

            throw;
        }
    }

    private static Task<bool> ExistsAsync(LedgerDbContext db, Guid requestId, CancellationToken cancellationToken) =>
        db.Requests.AsNoTracking().AnyAsync(r => r.RequestId == requestId, cancellationToken);
}
