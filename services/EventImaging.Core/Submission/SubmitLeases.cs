using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore;
using NpgsqlTypes;

namespace EventImaging.Core.Submission;

/// <summary>
/// The ledger writes of a create attempt: its submit lease, and what the attempt learnt (a task, a retry time, another
/// provider). Each is a compare-and-set on a received row, so of two workers only the lease holder records anything.
/// The two statements of every submission, recording a new request and its task, are group-committed
/// (<see cref="StatementBatcher{TItem,TResult}"/>): one round trip and one commit serve every submission waiting for them.
/// </summary>
public sealed class SubmitLeases : IAsyncDisposable
{
    /// <summary>Rows per statement: as for the callback path's statements.</summary>
    private const int MaxBatch = 128;

    private readonly IDbContextFactory<LedgerDbContext> contexts;
    private readonly RequestRows rows;
    private readonly LedgerRetry retry;
    private readonly WorkerIdentity worker;
    private readonly TimeProvider clock;
    private readonly StatementBatcher<ImageRequest, bool> inserts;
    private readonly StatementBatcher<SubmittedTask, bool> marks;

    public SubmitLeases(IDbContextFactory<LedgerDbContext> contexts, RequestRows rows, LedgerRetry retry, WorkerIdentity worker, RequestMetrics metrics, TimeProvider clock)
    {
        this.contexts = contexts;
        this.rows = rows;
        this.retry = retry;
        this.worker = worker;
        this.clock = clock;
        inserts = new(async (batch, ct) =>
        {
            metrics.LedgerBatch("insert", batch.Count);
            return await rows.TryInsertManyAsync(batch, ct);
        }, MaxBatch);
        marks = new(async (batch, ct) =>
        {
            metrics.LedgerBatch("submitted", batch.Count);
            return await MarkSubmittedAsync(batch, ct);
        }, MaxBatch);
    }

    /// <summary>
    /// Records a new request already holding its first submit lease, as <see cref="TryLeaseAsync(ImageRequest, string?, TimeSpan, TimeSpan, CancellationToken)"/>
    /// would leave it: one statement, where recording it and then leasing it took three. Returns the row as leased, or
    /// null when the request is already recorded (a duplicate command), which then changes nothing.
    /// </summary>
    public async Task<ImageRequest?> TryInsertLeasedAsync(ImageRequest row, TimeSpan leaseFor, TimeSpan unknownWait, CancellationToken cancellationToken)
    {
        var until = clock.GetUtcNow() + leaseFor;
        var due = until + unknownWait;
        row.LeaseOwner = NewOwner();
        row.LeaseUntil = until;
        row.SubmitAttempts = 1;
        row.AttemptInFlight = true;
        row.NextActionAt = due < row.Deadline ? due : row.Deadline;
        using var span = RequestTracing.StartTransition(row.RequestId, row.State);
        return span.Won(await inserts.RunAsync(row, cancellationToken)) ? row : null;
    }

    /// <summary>
    /// Takes the submit lease of <paramref name="row"/> for one create attempt (see <see cref="TryLeaseAsync(Guid, string, string, string?, TimeSpan, TimeSpan, CancellationToken)"/>)
    /// and returns the row as leased (its attempt and unknown-outcome counts, its owner and lease end), or null when it
    /// cannot be leased. The row is read again while the ledger blips, as the lease already marks the attempt as sent.
    /// </summary>
    public async Task<ImageRequest?> TryLeaseAsync(ImageRequest row, string? heldBy, TimeSpan leaseFor, TimeSpan unknownWait, CancellationToken cancellationToken)
    {
        if (await TryLeaseAsync(row.RequestId, row.Provider, NewOwner(), heldBy, leaseFor, unknownWait, cancellationToken) is not { } until)
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

    /// <summary>Records the task a create attempt got: the row moves from received to submitted, its lease released.</summary>
    public async Task<bool> TryMarkSubmittedAsync(Guid requestId, string providerTaskId, DateTimeOffset? nextActionAt, CancellationToken cancellationToken)
    {
        using var span = RequestTracing.StartTransition(requestId, RequestState.Submitted);
        return span.Won(await marks.RunAsync(new SubmittedTask(requestId, providerTaskId, nextActionAt), cancellationToken));
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

    public async ValueTask DisposeAsync()
    {
        await inserts.DisposeAsync();
        await marks.DisposeAsync();
    }

    private string NewOwner() => $"{worker.Name}:{Guid.NewGuid():N}";

    /// <summary><see cref="TryMarkSubmittedAsync"/> for many rows in one statement per round; one result per task, in order.</summary>
    private async Task<IReadOnlyList<bool>> MarkSubmittedAsync(IReadOnlyList<SubmittedTask> tasks, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return await LedgerCommands.RunInRoundsAsync(contexts, tasks, t => t.RequestId, (command, db, round) =>
        {
            if (db.Database.IsNpgsql())
            {
                // The rows as arrays: one text for any number of rows, prepared once per connection.
                command.CommandText = MarkSubmittedSql("unnest(@ids, @tasks, @nexts) AS v(id, task_id, next_action_at)");
                command.Parameters.Add(LedgerCommands.Array("ids", NpgsqlDbType.Uuid, round.Select(t => t.RequestId)));
                command.Parameters.Add(LedgerCommands.Array("tasks", NpgsqlDbType.Text, round.Select(t => t.ProviderTaskId)));
                command.Parameters.Add(LedgerCommands.Array("nexts", NpgsqlDbType.TimestampTz, round.Select(t => t.NextActionAt)));
            }
            else
            {
                command.CommandText = MarkSubmittedSql(
                    "(" + string.Join(" UNION ALL ", Enumerable.Range(0, round.Length).Select(i => $"SELECT @id{i} AS id, @task{i} AS task_id, @next{i} AS next_action_at")) + ") AS v");
                for (var i = 0; i < round.Length; i++)
                {
                    command.AddColumnParameter(db, $"id{i}", nameof(ImageRequest.RequestId), round[i].RequestId);
                    command.AddColumnParameter(db, $"task{i}", nameof(ImageRequest.ProviderTaskId), round[i].ProviderTaskId);
                    command.AddColumnParameter(db, $"next{i}", nameof(ImageRequest.NextActionAt), round[i].NextActionAt);
                }
            }

            command.AddColumnParameter(db, "received", nameof(ImageRequest.State), RequestState.Received);
            command.AddColumnParameter(db, "submitted", nameof(ImageRequest.State), RequestState.Submitted);
            command.AddColumnParameter(db, "not_in_flight", nameof(ImageRequest.AttemptInFlight), false);
            command.AddColumnParameter(db, "now", nameof(ImageRequest.UpdatedAt), now);
        }, cancellationToken);
    }

    /// <summary>The received → submitted transition for the rows of <paramref name="rows"/> (<c>v(id, task_id, next_action_at)</c>).</summary>
    private static string MarkSubmittedSql(string rows) => $"""
        UPDATE image_requests AS r SET
            state = @submitted,
            provider_task_id = v.task_id,
            submitted_at = @now,
            attempt_in_flight = @not_in_flight,
            next_action_at = v.next_action_at,
            lease_owner = NULL,
            lease_until = NULL,
            updated_at = @now
        FROM {rows}
        WHERE r.request_id = v.id AND r.state = @received
        RETURNING request_id
        """;

    private sealed record SubmittedTask(Guid RequestId, string ProviderTaskId, DateTimeOffset? NextActionAt);
}
