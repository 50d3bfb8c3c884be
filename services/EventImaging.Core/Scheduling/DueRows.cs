using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;

namespace EventImaging.Core.Scheduling;

/// <summary>The due-row statements: claiming the rows whose next action is due, and putting one back with its next due time.</summary>
public sealed class DueRows(IDbContextFactory<LedgerDbContext> contexts, TimeProvider clock)
{
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
        var claimed = await db.Requests
            .Where(r => candidates.Contains(r.RequestId) && r.NextActionAt != null && r.NextActionAt <= now
                && RequestTransitions.NotTerminal.Contains(r.State)
                && (r.LeaseUntil == null || r.LeaseUntil < now))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.LeaseOwner, owner)
                .SetProperty(r => r.LeaseUntil, until)
                .SetProperty(r => r.NextActionAt, until), cancellationToken);
        return claimed == 0
            ? []
            : await db.Requests.AsNoTracking()
                .Where(r => candidates.Contains(r.RequestId) && r.LeaseOwner == owner && r.LeaseUntil == until)
                .ToListAsync(cancellationToken);
    }

    /// <summary>Puts a claimed, still-running row back with its next due time.</summary>
    public async Task<bool> RescheduleAsync(Guid requestId, string owner, DateTimeOffset nextActionAt, int? progress, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Requests
            .Where(r => r.RequestId == requestId && r.LeaseOwner == owner && RequestTransitions.NotTerminal.Contains(r.State))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.NextActionAt, nextActionAt)
                .SetProperty(r => r.PollCount, r => r.PollCount + 1)
                .SetProperty(r => r.Progress, r => progress ?? r.Progress)
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken) == 1;
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
}
