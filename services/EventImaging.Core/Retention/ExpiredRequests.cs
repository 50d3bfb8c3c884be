using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;

namespace EventImaging.Core.Retention;

/// <summary>The retention statement: deleting finished requests, with their history, once they are old enough.</summary>
public sealed class ExpiredRequests(IDbContextFactory<LedgerDbContext> contexts)
{
    /// <summary>
    /// Deletes up to <paramref name="limit"/> requests that finished before <paramref name="cutoff"/> and whose terminal
    /// event reached the broker (an unpublished event is never deleted with its row), oldest first, with their history, in
    /// one transaction. The candidates come from the index on <c>finished_at</c>, so the cost follows the expired rows. A
    /// request still running is never a candidate. Returns how many requests were deleted.
    /// </summary>
    public async Task<int> DeleteAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var expired = await db.Requests.AsNoTracking()
            .Where(r => r.FinishedAt != null && r.FinishedAt < cutoff && r.EventPublishedAt != null)
            .OrderBy(r => r.FinishedAt)
            .Select(r => r.RequestId)
            .Take(limit)
            .ToListAsync(cancellationToken);
        if (expired.Count == 0)
        {
            return 0;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.History.Where(h => expired.Contains(h.RequestId)).ExecuteDeleteAsync(cancellationToken);
        var deleted = await db.Requests
            .Where(r => expired.Contains(r.RequestId) && r.FinishedAt != null && r.FinishedAt < cutoff && r.EventPublishedAt != null)
            .ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }
}
