using EventImaging.Core.Outbox;
using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Core.Ledger;

/// <summary>
/// Every write to the ledger. Transitions are conditional updates on the state (compare-and-set):
/// a method returns false when another writer got there first, and only the winner acts.
/// </summary>
public sealed class RequestLedger(LedgerDbContext db, IOptions<OutboxOptions> outbox, TimeProvider clock)
{
    // The callback path's read, compiled once: EF Core otherwise re-walks the expression tree on every batch.
    private static readonly Func<LedgerDbContext, Guid[], IAsyncEnumerable<ImageRequest>> FindMany =
        EF.CompileAsyncQuery((LedgerDbContext db, Guid[] requestIds) => db.Requests.AsNoTracking().Where(r => requestIds.Contains(r.RequestId)));

    public Task<ImageRequest?> FindAsync(Guid requestId, CancellationToken cancellationToken) =>
        db.Requests.AsNoTracking().SingleOrDefaultAsync(r => r.RequestId == requestId, cancellationToken);

    /// <summary>The rows of <paramref name="requestIds"/> that exist, read in one statement.</summary>
    public async Task<List<ImageRequest>> FindManyAsync(IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken)
    {
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
        if (request.FinishedAt is not null)
        {
            // Born terminal (an invalid command): nothing is ever due for it, and its writer publishes the event, as
            // after any terminal transition.
            request.NextActionAt = null;
            request.LeaseOwner = "outbox";
            request.LeaseUntil = now + outbox.Value.PublishLease;
        }

        using var span = RequestTracing.StartTransition(request.RequestId, request.State);
        // A redelivered or republished command is the common duplicate: found here, it costs one read instead of a
        // failed INSERT, which EF Core would log as an error. Two copies racing still meet the unique key below.
        if (await ExistsAsync(request.RequestId, cancellationToken))
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
            if (await ExistsAsync(request.RequestId, cancellationToken))
            {
                return span.Won(false);
            }

            throw;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    /// <summary>
    /// Takes the submit lease of a received row for one create attempt: free (or expired), or held by
    /// <paramref name="heldBy"/> (the poller's claim). The attempt counts as in flight until its outcome is
    /// recorded; if the worker dies, the row falls due after the lease plus <paramref name="unknownWait"/>.
    /// An attempt that starts while the previous one's outcome is still unknown counts that one as unknown.
    /// Returns the lease's end, or null when another worker holds it, it left <c>received</c>, or it moved to another
    /// provider than <paramref name="provider"/> (the one its attempt was prepared for).
    /// </summary>
    public async Task<DateTimeOffset?> TryLeaseForSubmitAsync(
        Guid requestId, string provider, string owner, string? heldBy, TimeSpan leaseFor, TimeSpan unknownWait, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = now + leaseFor;
        var due = until + unknownWait;
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
    public async Task ScheduleSubmitAsync(Guid requestId, string owner, bool outcomeKnown, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await db.Requests
            .Where(r => r.RequestId == requestId && r.State == RequestState.Received && r.LeaseOwner == owner)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.AttemptInFlight, r => outcomeKnown ? false : r.AttemptInFlight)
                .SetProperty(r => r.NextActionAt, r => dueAt < r.Deadline ? dueAt : r.Deadline)
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
    }

    /// <summary>
    /// The terminal transition, with the event that announces it written in the same update (the row is
    /// its own outbox). <paramref name="expectedTaskId"/>, when given, must match or be not yet recorded.
    /// </summary>
    public async Task<bool> TryFinishAsync(Guid requestId, TerminalOutcome outcome, string? expectedTaskId, CancellationToken cancellationToken)
    {
        using var span = RequestTracing.StartTransition(requestId, outcome.State);
        // One statement for one row or many, so the callback's batches and the poller share one compare-and-set.
        var won = await TryFinishManyAsync([new FinishRequest(requestId, outcome, expectedTaskId)], cancellationToken);
        return span.Won(won[0]);
    }

    /// <summary>
    /// <see cref="TryFinishAsync"/> for many rows in one statement and one commit; one result per request, in order.
    /// A request id given twice is applied once: its first occurrence may win, the others lose.
    /// </summary>
    public async Task<bool[]> TryFinishManyAsync(IReadOnlyList<FinishRequest> requests, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!db.Database.IsNpgsql())
        {
            // SQLite (embedded mode) has one writer anyway: one transaction, one statement a row.
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var results = new bool[requests.Count];
            var seen = new HashSet<Guid>();
            for (var i = 0; i < requests.Count; i++)
            {
                results[i] = seen.Add(requests[i].RequestId) && await FinishOneAsync(requests[i], now, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return results;
        }

        var won = await FinishManyOnPostgresAsync(requests, now, cancellationToken);
        var answered = new HashSet<Guid>();
        return [.. requests.Select(r => won.Contains(r.RequestId) && answered.Add(r.RequestId))];
    }

    private async Task<HashSet<Guid>> FinishManyOnPostgresAsync(IReadOnlyList<FinishRequest> requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var unique = requests.DistinctBy(r => r.RequestId).ToArray();
        await using var command = new NpgsqlCommand(FinishManySql);
        command.Parameters.Add(Array("ids", NpgsqlDbType.Uuid, unique.Select(r => r.RequestId)));
        command.Parameters.Add(Array("states", NpgsqlDbType.Text, unique.Select(r => r.Outcome.State.ToString())));
        command.Parameters.Add(Array("sources", NpgsqlDbType.Text, unique.Select(r => string.Join(',', RequestTransitions.SourcesOf(r.Outcome.State)))));
        command.Parameters.Add(Array("task_ids", NpgsqlDbType.Text, unique.Select(r => r.ExpectedTaskId)));
        command.Parameters.Add(Array("result_urls", NpgsqlDbType.Text, unique.Select(r => r.Outcome.ResultUrlsJson)));
        command.Parameters.Add(Array("error_codes", NpgsqlDbType.Text, unique.Select(r => r.Outcome.ErrorCode)));
        command.Parameters.Add(Array("error_messages", NpgsqlDbType.Text, unique.Select(r => r.Outcome.ErrorMessage)));
        command.Parameters.Add(Array("event_types", NpgsqlDbType.Text, unique.Select(r => r.Outcome.EventType)));
        command.Parameters.Add(Array("event_jsons", NpgsqlDbType.Text, unique.Select(r => r.Outcome.EventJson)));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("publish_until", now + outbox.Value.PublishLease));

        var won = new HashSet<Guid>();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            command.Connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                won.Add(reader.GetGuid(0));
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        return won;
    }

    // The compare-and-set of FinishOneAsync (SQLite's), for every row of the arrays at once (the row is its own outbox).
    private const string FinishManySql = """
        UPDATE image_requests AS r SET
            state = v.state,
            provider_task_id = COALESCE(r.provider_task_id, v.task_id),
            progress = CASE WHEN v.state = 'Completed' THEN 100 ELSE r.progress END,
            result_urls_json = v.result_urls,
            error_code = v.error_code,
            error_message = v.error_message,
            event_type = v.event_type,
            event_json = v.event_json,
            event_published_at = NULL,
            next_action_at = NULL,
            lease_owner = 'outbox',
            lease_until = @publish_until,
            finished_at = @now,
            updated_at = @now
        FROM unnest(@ids, @states, @sources, @task_ids, @result_urls, @error_codes, @error_messages, @event_types, @event_jsons)
            AS v(request_id, state, sources, task_id, result_urls, error_code, error_message, event_type, event_json)
        WHERE r.request_id = v.request_id
            AND r.state = ANY (string_to_array(v.sources, ','))
            AND (v.task_id IS NULL OR r.provider_task_id IS NULL OR r.provider_task_id = v.task_id)
        RETURNING r.request_id
        """;

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType elementType, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | elementType) { Value = values.ToArray() };

    private async Task<bool> FinishOneAsync(FinishRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (requestId, outcome, expectedTaskId) = request;
        var publishUntil = now + outbox.Value.PublishLease;
        var to = outcome.State;
        var from = RequestTransitions.SourcesOf(to);
        var query = db.Requests.Where(r => r.RequestId == requestId && from.Contains(r.State));
        if (expectedTaskId is not null)
        {
            query = query.Where(r => r.ProviderTaskId == null || r.ProviderTaskId == expectedTaskId);
        }

        return await query.ExecuteUpdateAsync(s => s
            .SetProperty(r => r.State, to)
            .SetProperty(r => r.ProviderTaskId, r => r.ProviderTaskId ?? expectedTaskId)
            .SetProperty(r => r.Progress, r => to == RequestState.Completed ? 100 : r.Progress)
            .SetProperty(r => r.ResultUrlsJson, outcome.ResultUrlsJson)
            .SetProperty(r => r.ErrorCode, outcome.ErrorCode)
            .SetProperty(r => r.ErrorMessage, outcome.ErrorMessage)
            .SetProperty(r => r.EventType, outcome.EventType)
            .SetProperty(r => r.EventJson, outcome.EventJson)
            .SetProperty(r => r.EventPublishedAt, (DateTimeOffset?)null)
            .SetProperty(r => r.NextActionAt, (DateTimeOffset?)null)
            // The writer publishes the event; sweepers keep off until the publish lease has passed.
            .SetProperty(r => r.LeaseOwner, "outbox")
            .SetProperty(r => r.LeaseUntil, publishUntil)
            .SetProperty(r => r.FinishedAt, now)
            .SetProperty(r => r.UpdatedAt, now), cancellationToken) == 1;
    }

    /// <summary>Moves a received row to another provider and makes it due at once; its last attempt's outcome is known.</summary>
    public async Task<bool> TrySwitchProviderAsync(Guid requestId, string owner, string provider, string model, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
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

    /// <summary>
    /// Claims up to <paramref name="limit"/> due, unfinished rows for <paramref name="owner"/>. The candidates come from
    /// the partial index on <c>next_action_at</c> (cost follows the due rows, not the rows in flight), and are only rows
    /// the claim can take: unfinished and not leased, so rows that can never be claimed do not fill the page. The claim is
    /// one conditional update, so two replicas never hold the same row, and it makes the row due again only when its
    /// lease runs out: a row being worked on is not a candidate for anyone, and a worker that dies leaves it due.
    /// </summary>
    public async Task<List<ImageRequest>> ClaimDueAsync(string owner, int limit, TimeSpan leaseFor, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var candidates = await db.Requests.AsNoTracking()
            .Where(r => r.NextActionAt != null && r.NextActionAt <= now
                && (r.State == RequestState.Received || r.State == RequestState.Submitted)
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
                && (r.State == RequestState.Received || r.State == RequestState.Submitted)
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

    /// <summary>Puts a claimed, still-running row back with its next poll time.</summary>
    public async Task<bool> RescheduleAsync(Guid requestId, string owner, DateTimeOffset nextActionAt, int? progress, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return await db.Requests
            .Where(r => r.RequestId == requestId && r.LeaseOwner == owner && (r.State == RequestState.Received || r.State == RequestState.Submitted))
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
        await db.Requests
            .Where(r => r.RequestId == requestId && r.State == RequestState.Submitted)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.NextActionAt, now).SetProperty(r => r.UpdatedAt, now), cancellationToken);
    }

    /// <summary>Records that the events of <paramref name="requestIds"/> reached the broker, in one statement.</summary>
    public async Task<int> MarkEventsPublishedAsync(IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return await db.Requests
            .Where(r => requestIds.Contains(r.RequestId) && r.EventPublishedAt == null && r.EventJson != null)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.EventPublishedAt, now), cancellationToken);
    }

    /// <summary>Claims an unpublished terminal row for one sweeper, so that replicas do not republish it together.</summary>
    public async Task<bool> TryClaimForPublishAsync(Guid requestId, string owner, TimeSpan claimFor, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = now + claimFor;
        return await db.Requests
            .Where(r => r.RequestId == requestId && r.EventPublishedAt == null && r.FinishedAt != null
                && (r.LeaseUntil == null || r.LeaseUntil < now))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.LeaseOwner, owner)
                .SetProperty(r => r.LeaseUntil, until), cancellationToken) == 1;
    }

    /// <summary>Terminal rows whose event is not yet marked published and whose publish lease has passed.</summary>
    public Task<List<ImageRequest>> FindUnpublishedAsync(int limit, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return db.Requests.AsNoTracking()
            .Where(r => r.EventPublishedAt == null && r.FinishedAt != null && (r.LeaseUntil == null || r.LeaseUntil < now))
            .OrderBy(r => r.FinishedAt)
            .Take(limit)
            .ToListAsync(cancellationToken);
    }

    private Task<bool> ExistsAsync(Guid requestId, CancellationToken cancellationToken) =>
        db.Requests.AsNoTracking().AnyAsync(r => r.RequestId == requestId, cancellationToken);
}

/// <summary>One terminal transition to attempt: see <see cref="RequestLedger.TryFinishAsync"/>.</summary>
public sealed record FinishRequest(Guid RequestId, TerminalOutcome Outcome, string? ExpectedTaskId);
