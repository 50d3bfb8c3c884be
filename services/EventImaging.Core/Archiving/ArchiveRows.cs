using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;

namespace EventImaging.Core.Archiving;

/// <summary>The archive step's own statement: putting a claimed archiving row back after a failed copy.</summary>
public sealed class ArchiveRows(IDbContextFactory<LedgerDbContext> contexts, TimeProvider clock)
{
    /// <summary>Counts the failed attempt and makes the row due again at <paramref name="nextActionAt"/>; only the claim's holder can.</summary>
    public async Task<bool> RetryLaterAsync(Guid requestId, string owner, DateTimeOffset nextActionAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Requests
            .Where(r => r.RequestId == requestId && r.LeaseOwner == owner && r.State == RequestState.Archiving)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.NextActionAt, nextActionAt)
                .SetProperty(r => r.ArchiveAttempts, r => r.ArchiveAttempts + 1)
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken) == 1;
    }
}
