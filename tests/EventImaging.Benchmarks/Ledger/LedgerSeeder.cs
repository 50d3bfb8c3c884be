using EventImaging.Core.Callbacks;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Benchmarks.Ledger;

/// <summary>Rows waiting for their callback, with the callback token the real CallbackTokens minted for each.</summary>
internal sealed class CallbackRows
{
    public CallbackRows(Guid[] ids, string[] taskIds, string[] tokens)
    {
        Ids = ids;
        TaskIds = taskIds;
        Tokens = tokens;
        var index = new Dictionary<Guid, int>(ids.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            index[ids[i]] = i;
        }

        Index = index;
    }

    public Guid[] Ids { get; }

    public string[] TaskIds { get; }

    public string[] Tokens { get; }

    /// <summary>Request id → position, for the subscriber to find which operation an event completes.</summary>
    public IReadOnlyDictionary<Guid, int> Index { get; }

    public int Count => Ids.Length;
}

/// <summary>Bulk-inserts ledger rows in one statement each, so seeding never dominates a run.</summary>
internal sealed class LedgerSeeder(string ledger, CallbackTokens tokens)
{
    public const string Provider = "evolink";
    public const string Model = "gpt-image-1.5";

    private static long taskCounter;

    /// <summary>
    /// <paramref name="count"/> requests in state <c>submitted</c>, as the Submitter leaves them once the provider accepted
    /// them: a task id, a first poll well after the run (so only the callback can finish them), and a callback token.
    /// </summary>
    public async Task<CallbackRows> SeedSubmittedAsync(int count)
    {
        var now = DateTimeOffset.UtcNow;
        var deadline = now.AddMinutes(30);
        var ids = new Guid[count];
        var taskIds = new string[count];
        var minted = new string[count];
        var created = now.ToUnixTimeSeconds();
        for (var i = 0; i < count; i++)
        {
            ids[i] = Guid.NewGuid();
            // The simulator's shape: task-unified-<unix seconds>-<8 characters>.
            taskIds[i] = $"task-unified-{created}-{Interlocked.Increment(ref taskCounter):x8}";
        }

        Parallel.For(0, count, i => minted[i] = tokens.Mint(ids[i], Provider, deadline));

        await using var connection = new NpgsqlConnection(ledger);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO image_requests (request_id, provider, model, state, command_json, provider_task_id, progress,
                submit_attempts, poll_count, attempt_in_flight, unknown_outcomes, next_action_at, deadline,
                created_at, updated_at, submitted_at)
            SELECT id, @provider, @model, 'Submitted',
                json_build_object('requestId', id, 'prompt', 'A lighthouse at dusk, oil painting', 'size', '1024x1024',
                    'metadata', json_build_object('order', '42', 'tenant', 'benchmark'))::text,
                task, 0, 1, 0, false, 0, @firstPoll, @deadline, @now, @now, @now
            FROM unnest(@ids, @tasks) AS seeded(id, task)
            """,
            connection);
        insert.Parameters.AddWithValue("provider", Provider);
        insert.Parameters.AddWithValue("model", Model);
        insert.Parameters.AddWithValue("firstPoll", now.AddMinutes(10));
        insert.Parameters.AddWithValue("deadline", deadline);
        insert.Parameters.AddWithValue("now", now);
        insert.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids });
        insert.Parameters.Add(new NpgsqlParameter("tasks", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = taskIds });
        insert.CommandTimeout = 300;
        await insert.ExecuteNonQueryAsync();
        return new CallbackRows(ids, taskIds, minted);
    }

    /// <summary>
    /// Moves the first poll of every row still waiting in <c>submitted</c> (earlier sections' unused rows) an hour on, so
    /// that a Submitter started now finds no status query to make: its scheduler works only on what a section gives it.
    /// </summary>
    public async Task DeferSubmittedAsync()
    {
        await using var connection = new NpgsqlConnection(ledger);
        await connection.OpenAsync();
        await using var update = new NpgsqlCommand(
            "UPDATE image_requests SET next_action_at = @later WHERE state = 'Submitted' AND next_action_at < @later", connection);
        update.Parameters.AddWithValue("later", DateTimeOffset.UtcNow.AddHours(1));
        update.CommandTimeout = 300;
        await update.ExecuteNonQueryAsync();
    }
}
