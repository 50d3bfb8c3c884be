using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore;

namespace EventImaging.Core.Submission;

/// <summary>
/// The ledger writes of a create attempt: its submit lease, and what the attempt learnt (a task, a retry time, another
/// provider). Each is a compare-and-set on a received row, so of two workers only the lease holder records anything.
/// </summary>
public sealed class SubmitLeases(IDbContextFactory<LedgerDbContext> contexts, RequestRows rows, LedgerRetry retry, WorkerIdentity worker, TimeProvider clock)
{
    /// <summary>
    /// Takes the submit lease of <paramref name="row"/> for one create attempt (see <see cref="TryLeaseAsync(Guid, string, string, string?, TimeSpan, TimeSpan, CancellationToken)"/>)
    /// and returns the row as leased (its attempt and unknown-outcome counts, its owner and lease end), or null when it
    /// cannot be leased. The row is read again while the ledger blips, as the lease already marks the attempt as sent.
    /// </summary>
    public async Task<ImageRequest?> TryLeaseAsync(ImageRequest row, string? heldBy, TimeSpan leaseFor, TimeSpan unknownWait, CancellationToken cancellationToken)
    {
        var owner = $"{worker.Name}:{Guid.NewGuid():N}";
        if (await TryLeaseAsync(row.RequestId, row.Provider, owner, heldBy, leaseFor, unknownWait, cancellationToken) is not { } until)
        {
            return null;
        }

        var requestId = row.RequestId;
        return await retry.UntilAsync(until, () => rows.FindAsync(requestId, cancellationToken), cancellationToken)
            ?? throw new InvalidOperationException($"Request {requestId} vanished from the ledger while leased.");
    }

    /// <summary>
    /// Records what a create attempt learnt, retrying while the ledger is unreachable, until the attempt's submit lease runs
    /// out. Only this process knows the outcome: lost, a create that was answered would later count as one whose outcome is
    /// unknown, and might be sent again.
    /// </summary>
    public Task<T> RecordAsync<T>(ImageRequest leased, Func<Task<T>> write, CancellationToken cancellationToken) =>
        retry.UntilAsync(leased.LeaseUntil ?? clock.GetUtcNow(), write, cancellationToken);

    /// <inheritdoc cref="RecordAsync{T}"/>
    public Task RecordAsync(ImageRequest leased, Func<Task> write, CancellationToken cancellationToken) =>
        retry.UntilAsync(leased.LeaseUntil ?? clock.GetUtcNow(), write, cancellationToken);

    /// <summary>
    /// Takes the submit lease of a received row for one create attempt: free (or expired), or held by
    /// <paramref name="heldBy"/> (the scheduler's claim). The attempt counts as in flight until its outcome is
    /// recorded; if the worker dies, the row falls due after the lease plus <paramref name="unknownWait"/>.
    /// An attempt that starts while the previous one's outcome is still unknown counts that one as unknown.
    /// Returns the lease's end, or null when another worker holds it, it left <c>received</c>, or it moved to another
    /// provider than <paramref name="provider"/> (the one its attempt was prepared for).
    /// </summary>
    public async Task<DateTimeOffset?> TryLeaseAsync(
        Guid requestId, string provider, string owner, string? heldBy, TimeSpan leaseFor, TimeSpan unknownWait, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = now + leaseFor;
        var due = until + unknownWait;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var leased = await db.Requests
            .Where(r => r.RequestId == requestId && r.State == RequestState.Received && r.Provider == provider
                && (r.LeaseUntil == null || r.LeaseUntil < now || (heldBy != null && r.LeaseOwner == heldBy)))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.LeaseOwner, owner)
                .SetProperty(r => r.LeaseUntil, until)
                .SetProperty(r => r.SubmitAttempts, r => r.SubmitAttempts + 1)
                .SetProperty(r => r.UnknownOutcomes, r => r.AttemptInFlight ? r.UnknownOutcomes + 1 : r.UnknownOutcomes)
                .SetProperty(r => r.AttemptInFlight, true)
                .SetProperty(r => r.NextActionAt, r => due < r.Deadline ? due : r.Deadline)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken) == 1;
        return leased ? until : null;
    }

    public async Task<bool> TryMarkSubmittedAsync(Guid requestId, string providerTaskId, DateTimeOffset? nextActionAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        using var span = RequestTracing.StartTransition(requestId, RequestState.Submitted);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return span.Won(await db.Requests
            .Where(r => r.RequestId == requestId && r.State == RequestState.Received)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.State, RequestState.Submitted)
                .SetProperty(r => r.ProviderTaskId, providerTaskId)
                .SetProperty(r => r.SubmittedAt, now)
                .SetProperty(r => r.AttemptInFlight, false)
                .SetProperty(r => r.NextActionAt, nextActionAt)
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken) == 1);
    }

    /// <summary>
    /// Ends a create attempt without a task: <paramref name="outcomeKnown"/> when the provider answered (a 429 or
    /// 5xx: nothing was created), false when no answer came. The row falls due again at <paramref name="dueAt"/>.
    /// </summary>
    public async Task ScheduleAsync(Guid requestId, string owner, bool outcomeKnown, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Requests
            .Where(r => r.RequestId == requestId && r.State == RequestState.Received && r.LeaseOwner == owner)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.AttemptInFlight, r => outcomeKnown ? false : r.AttemptInFlight)
                .SetProperty(r => r.NextActionAt, r => dueAt < r.Deadline ? dueAt : r.Deadline)
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
    }

    /// <summary>Moves a received row to another provider and makes it due at once; its last attempt's outcome is known.</summary>
    public async Task<bool> TrySwitchProviderAsync(Guid requestId, string owner, string provider, string model, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Requests
            .Where(r => r.RequestId == requestId && r.State == RequestState.Received && r.LeaseOwner == owner)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Provider, provider)
                .SetProperty(r => r.Model, model)
                .SetProperty(r => r.AttemptInFlight, false)
                .SetProperty(r => r.NextActionAt, now)
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken) == 1;
    }
}
