using System.Data.Common;
using EventImaging.Core.Ledger;
using EventImaging.Core.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Core.Outbox;

/// <summary>
/// The terminal transition behind "exactly one event per request", and the outbox statements that follow it. The
/// transition is one compare-and-set, written once (<see cref="TransitionSql"/>): a row enters a terminal state only
/// from a state <see cref="RequestTransitions"/> allows, with its event written in the same update (the row is its own
/// outbox), and of two racing writers exactly one wins. PostgreSQL runs it for a whole batch of rows in one statement;
/// SQLite (the embedded mode, one writer anyway) runs it row by row in one transaction.
/// </summary>
public sealed class TerminalRows(IDbContextFactory<LedgerDbContext> contexts, IOptions<OutboxOptions> outbox, TimeProvider clock)
{
    /// <summary>
    /// The terminal transition, with the event that announces it written in the same update. <paramref name="expectedTaskId"/>,
    /// when given, must match or be not yet recorded.
    /// </summary>
    public async Task<bool> TryFinishAsync(Guid requestId, TerminalOutcome outcome, string? expectedTaskId, CancellationToken cancellationToken)
    {
        using var span = RequestTracing.StartTransition(requestId, outcome.State);
        var won = await TryFinishManyAsync([new FinishRequest(requestId, outcome, expectedTaskId)], cancellationToken);
        return span.Won(won[0]);
    }

    /// <summary>
    /// <see cref="TryFinishAsync"/> for many rows; one result per request, in order. A request id given more than once is
    /// tried in turn, each occurrence in a later statement than the one before, so each sees what the earlier did: a stale
    /// provider outcome that loses does not hide a cancel that would win. At most one of them wins.
    /// </summary>
    public Task<bool[]> TryFinishManyAsync(IReadOnlyList<FinishRequest> requests, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return LedgerCommands.RunInRoundsAsync(contexts, requests, r => r.RequestId, (db, finishes, ct) => db.Database.IsNpgsql()
            ? FinishOnPostgresAsync(db, finishes, now, ct)
            : FinishOnSqliteAsync(db, finishes, now, ct), cancellationToken);
    }

    /// <summary>
    /// What an outcome transition writes and when it may: the one definition, over a row source <c>v</c> with the columns
    /// <c>id, state, sources, task_id, result_urls, error_code, error_message, event_type, event_json</c>.
    /// <c>sources</c> lists the states the row may leave, comma-delimited on both sides (<see cref="SourcesOf"/>).
    /// A terminal state is finished, and its event is its writer's to publish under the publish lease. Archiving (the
    /// outcome known, its images still to copy) keeps the provisional event in the row, unfinished and due at once for the
    /// archive step.
    /// </summary>
    private const string TransitionSql = """
        UPDATE image_requests AS r SET
            state = v.state,
            provider_task_id = COALESCE(r.provider_task_id, v.task_id),
            progress = CASE WHEN v.state IN ('Completed', 'Archiving') THEN 100 ELSE r.progress END,
            result_urls_json = v.result_urls,
            error_code = v.error_code,
            error_message = v.error_message,
            event_type = v.event_type,
            event_json = v.event_json,
            event_published_at = NULL,
            next_action_at = CASE WHEN v.state = 'Archiving' THEN @now ELSE NULL END,
            lease_owner = CASE WHEN v.state = 'Archiving' THEN NULL ELSE @lease_owner END,
            lease_until = CASE WHEN v.state = 'Archiving' THEN NULL ELSE @publish_until END,
            finished_at = CASE WHEN v.state = 'Archiving' THEN NULL ELSE @now END,
            updated_at = @now
        FROM {rows}
        WHERE r.request_id = v.id
            AND v.sources LIKE ('%,' || r.state || ',%')
            AND (v.task_id IS NULL OR r.provider_task_id IS NULL OR r.provider_task_id = v.task_id)
        RETURNING request_id
        """;

    private static readonly string PostgresBatchSql = TransitionSql.Replace("{rows}", """
        unnest(@request_ids, @states, @sources, @task_ids, @result_urls, @error_codes, @error_messages, @event_types, @event_jsons)
            AS v(id, state, sources, task_id, result_urls, error_code, error_message, event_type, event_json)
        """, StringComparison.Ordinal);

    private static readonly string SqliteRowSql = TransitionSql.Replace("{rows}", """
        (SELECT @request_id AS id, @state AS state, @sources AS sources, @task_id AS task_id, @result_urls AS result_urls,
            @error_code AS error_code, @error_message AS error_message, @event_type AS event_type, @event_json AS event_json) AS v
        """, StringComparison.Ordinal);

    private static string SourcesOf(TerminalOutcome outcome)
    {
        foreach (var from in outcome.Sources.Where(from => !RequestTransitions.IsAllowed(from, outcome.State)))
        {
            throw new InvalidOperationException($"No transition leads from {from} to {outcome.State}.");
        }

        return $",{string.Join(',', outcome.Sources)},";
    }

    private async Task<HashSet<Guid>> FinishOnPostgresAsync(LedgerDbContext db, FinishRequest[] requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = (NpgsqlCommand)db.Database.GetDbConnection().CreateCommand();
        command.CommandText = PostgresBatchSql;
        command.Parameters.Add(LedgerCommands.Array("request_ids", NpgsqlDbType.Uuid, requests.Select(r => r.RequestId)));
        command.Parameters.Add(LedgerCommands.Array("states", NpgsqlDbType.Text, requests.Select(r => r.Outcome.State.ToString())));
        command.Parameters.Add(LedgerCommands.Array("sources", NpgsqlDbType.Text, requests.Select(r => SourcesOf(r.Outcome))));
        command.Parameters.Add(LedgerCommands.Array("task_ids", NpgsqlDbType.Text, requests.Select(r => r.ExpectedTaskId)));
        command.Parameters.Add(LedgerCommands.Array("result_urls", NpgsqlDbType.Text, requests.Select(r => r.Outcome.ResultUrlsJson)));
        command.Parameters.Add(LedgerCommands.Array("error_codes", NpgsqlDbType.Text, requests.Select(r => r.Outcome.ErrorCode)));
        command.Parameters.Add(LedgerCommands.Array("error_messages", NpgsqlDbType.Text, requests.Select(r => r.Outcome.ErrorMessage)));
        command.Parameters.Add(LedgerCommands.Array("event_types", NpgsqlDbType.Text, requests.Select(r => r.Outcome.EventType)));
        command.Parameters.Add(LedgerCommands.Array("event_jsons", NpgsqlDbType.Text, requests.Select(r => r.Outcome.EventJson)));
        AddCommonParameters(db, command, now);
        return await command.ReadRequestIdsAsync(cancellationToken);
    }

    private async Task<HashSet<Guid>> FinishOnSqliteAsync(LedgerDbContext db, FinishRequest[] requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var won = new HashSet<Guid>();
        foreach (var request in requests)
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = SqliteRowSql;
            command.AddColumnParameter(db, "request_id", nameof(ImageRequest.RequestId), request.RequestId);
            command.AddColumnParameter(db, "state", nameof(ImageRequest.State), request.Outcome.State);
            command.AddColumnParameter(db, "sources", nameof(ImageRequest.EventType), SourcesOf(request.Outcome));
            command.AddColumnParameter(db, "task_id", nameof(ImageRequest.ProviderTaskId), request.ExpectedTaskId);
            command.AddColumnParameter(db, "result_urls", nameof(ImageRequest.ResultUrlsJson), request.Outcome.ResultUrlsJson);
            command.AddColumnParameter(db, "error_code", nameof(ImageRequest.ErrorCode), request.Outcome.ErrorCode);
            command.AddColumnParameter(db, "error_message", nameof(ImageRequest.ErrorMessage), request.Outcome.ErrorMessage);
            command.AddColumnParameter(db, "event_type", nameof(ImageRequest.EventType), request.Outcome.EventType);
            command.AddColumnParameter(db, "event_json", nameof(ImageRequest.EventJson), request.Outcome.EventJson);
            AddCommonParameters(db, command, now);
            won.UnionWith(await command.ReadRequestIdsAsync(cancellationToken));
        }

        return won;
    }

    private void AddCommonParameters(LedgerDbContext db, DbCommand command, DateTimeOffset now)
    {
        command.AddColumnParameter(db, "lease_owner", nameof(ImageRequest.LeaseOwner), LeaseOwners.Outbox);
        command.AddColumnParameter(db, "publish_until", nameof(ImageRequest.LeaseUntil), now + outbox.Value.PublishLease);
        command.AddColumnParameter(db, "now", nameof(ImageRequest.FinishedAt), now);
    }
}

/// <summary>One terminal transition to attempt: see <see cref="TerminalRows.TryFinishAsync"/>.</summary>
public sealed record FinishRequest(Guid RequestId, TerminalOutcome Outcome, string? ExpectedTaskId);
