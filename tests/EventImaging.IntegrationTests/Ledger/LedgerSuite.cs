using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Scheduling;

namespace EventImaging.IntegrationTests.Ledger;

/// <summary>
/// The ledger's guarantees, run against both of its databases (<see cref="PostgresLedgerTests"/>, <see cref="SqliteLedgerTests"/>):
/// one winner per transition, a terminal row never left, leases and claims held by one worker at a time, and an outbox
/// that hands each event to one publisher.
/// </summary>
public abstract class LedgerSuite : IAsyncLifetime
{
    private LedgerStore? store;

    protected LedgerStore Store => store!;

    protected abstract Task<LedgerStore> OpenAsync();

    public async Task InitializeAsync() => store = await OpenAsync();

    public async Task DisposeAsync()
    {
        if (store is not null)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Of_many_racing_terminal_writers_exactly_one_wins()
    {
        var requestId = await Store.InsertReceivedAsync();
        var attempts = Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            Store.Terminal.TryFinishAsync(requestId, i % 2 == 0 ? LedgerStore.Completed(requestId) : LedgerStore.Failed(requestId), "task-1", CancellationToken.None)));
        var results = await Task.WhenAll(attempts);

        Assert.Equal(1, results.Count(won => won));
        Assert.True((await Store.RowAsync(requestId)).State.IsTerminal());
    }

    [Fact]
    public async Task One_batch_of_history_keeps_a_request_to_its_limit_and_always_keeps_its_outcome()
    {
        // A flood for one request gathered into one statement (a callback storm within the writer's gather time).
        var requestId = await Store.InsertReceivedAsync();
        var other = await Store.InsertReceivedAsync();
        var limit = Store.HistoryLimit;
        var at = DateTimeOffset.UtcNow;
        var batch = Enumerable.Range(0, limit + 20)
            .Select(i => new HistoryEntry { RequestId = requestId, At = at.AddMilliseconds(i), Kind = HistoryKinds.Callback, Detail = $"progress {i}" })
            .Append(new HistoryEntry { RequestId = other, At = at, Kind = HistoryKinds.Received, Detail = "another request" })
            .Append(new HistoryEntry { RequestId = requestId, At = at.AddSeconds(1), Kind = HistoryKinds.Completed, Detail = "via callback" })
            .ToList();

        await Store.History.AppendAsync(batch, CancellationToken.None);

        var kept = await Store.HistoryRowsAsync(requestId);
        Assert.Equal([.. Enumerable.Range(0, limit).Select(i => $"progress {i}"), "via callback"], kept.Select(h => h.Detail));
        Assert.Single(await Store.HistoryRowsAsync(other));
    }

    [Fact]
    public async Task A_terminal_transition_writes_its_event_and_hands_the_row_to_its_writer_to_publish()
    {
        var requestId = await Store.InsertReceivedAsync(dueAt: DateTimeOffset.UtcNow);
        Assert.True(await Store.Terminal.TryFinishAsync(requestId, LedgerStore.Completed(requestId), "task-1", CancellationToken.None));

        var row = await Store.RowAsync(requestId);
        Assert.Equal(RequestState.Completed, row.State);
        Assert.Equal("task-1", row.ProviderTaskId);
        Assert.Equal(100, row.Progress);
        Assert.Equal("ImageCompleted", row.EventType);
        Assert.Contains(requestId.ToString(), row.EventJson, StringComparison.Ordinal);
        Assert.Null(row.NextActionAt);
        Assert.Null(row.EventPublishedAt);
        Assert.NotNull(row.FinishedAt);
        Assert.Equal(LeaseOwners.Outbox, row.LeaseOwner);
        Assert.True(row.LeaseUntil > DateTimeOffset.UtcNow);
        // Its writer publishes it: no sweeper finds it while the publish lease runs.
        Assert.DoesNotContain(await Store.Outbox.FindUnpublishedAsync(100, CancellationToken.None), r => r.RequestId == requestId);
    }

    [Fact]
    public async Task A_terminal_row_is_never_left()
    {
        var requestId = await Store.InsertReceivedAsync();
        Assert.True(await Store.Terminal.TryFinishAsync(requestId, LedgerStore.Failed(requestId), null, CancellationToken.None));

        Assert.False(await Store.Terminal.TryFinishAsync(requestId, LedgerStore.Completed(requestId), null, CancellationToken.None));
        Assert.False(await Store.Leases.TryMarkSubmittedAsync(requestId, "task-late", null, CancellationToken.None));
        Assert.Equal(RequestState.Failed, (await Store.RowAsync(requestId)).State);
    }

    [Fact]
    public async Task A_terminal_transition_for_another_task_is_refused()
    {
        var requestId = await Store.InsertReceivedAsync();
        Assert.True(await Store.Leases.TryMarkSubmittedAsync(requestId, "task-1", null, CancellationToken.None));

        Assert.False(await Store.Terminal.TryFinishAsync(requestId, LedgerStore.Completed(requestId), "task-2", CancellationToken.None));
        Assert.Equal(RequestState.Submitted, (await Store.RowAsync(requestId)).State);
    }

    [Fact]
    public async Task A_batch_answers_each_request_in_order_and_applies_a_repeated_one_once()
    {
        var first = await Store.InsertReceivedAsync();
        var second = await Store.InsertReceivedAsync();
        var finished = await Store.InsertReceivedAsync();
        Assert.True(await Store.Terminal.TryFinishAsync(finished, LedgerStore.Failed(finished), null, CancellationToken.None));

        var results = await Store.Terminal.TryFinishManyAsync(
            [
                new FinishRequest(first, LedgerStore.Completed(first), "task-1"),
                new FinishRequest(Guid.NewGuid(), LedgerStore.Failed(Guid.NewGuid()), null),
                new FinishRequest(finished, LedgerStore.Completed(finished), null),
                new FinishRequest(second, LedgerStore.Failed(second), null),
                new FinishRequest(first, LedgerStore.Failed(first), null),
            ],
            CancellationToken.None);

        Assert.Equal([true, false, false, true, false], results);
        Assert.Equal(RequestState.Completed, (await Store.RowAsync(first)).State);
        Assert.Equal(RequestState.Failed, (await Store.RowAsync(second)).State);
    }

    [Fact]
    public async Task A_batch_that_fails_in_a_later_round_leaves_the_earlier_rounds_undone()
    {
        var repeated = await Store.InsertReceivedAsync();
        var other = await Store.InsertReceivedAsync();

        // The repeated request's second occurrence runs in a second round, and its outcome names a transition no state
        // allows (from Completed), which fails that round: the first round must not stay committed, or the batcher's
        // rerun of each item alone would tell its winners they lost.
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.Terminal.TryFinishManyAsync(
            [
                new FinishRequest(repeated, LedgerStore.Completed(repeated), null),
                new FinishRequest(other, LedgerStore.Failed(other), null),
                new FinishRequest(repeated, LedgerStore.Failed(repeated) with { Sources = [RequestState.Completed] }, null),
            ],
            CancellationToken.None));

        Assert.Equal(RequestState.Received, (await Store.RowAsync(repeated)).State);
        Assert.Equal(RequestState.Received, (await Store.RowAsync(other)).State);
    }

    [Fact]
    public async Task An_archiving_row_is_unfinished_and_due_and_only_the_archive_outcome_or_a_cancel_ends_it()
    {
        var requestId = await Store.InsertReceivedAsync();
        var archiving = LedgerStore.Completed(requestId) with { State = RequestState.Archiving };
        Assert.True(await Store.Terminal.TryFinishAsync(requestId, archiving, "task-1", CancellationToken.None));

        var row = await Store.RowAsync(requestId);
        Assert.Equal(RequestState.Archiving, row.State);
        Assert.Null(row.FinishedAt);
        Assert.Null(row.LeaseOwner);
        Assert.NotNull(row.NextActionAt);
        Assert.Equal("ImageCompleted", row.EventType);
        // Not the outbox's: nothing is published before the copy.
        Assert.DoesNotContain(await Store.Outbox.FindUnpublishedAsync(100, CancellationToken.None), r => r.RequestId == requestId);

        // Later provider news cannot end it; in one batch, a cancel behind such news still wins.
        var results = await Store.Terminal.TryFinishManyAsync(
            [
                new FinishRequest(requestId, LedgerStore.Failed(requestId), null),
                new FinishRequest(requestId, LedgerStore.Failed(requestId) with { Sources = RequestTransitions.NotTerminal }, null),
                new FinishRequest(requestId, LedgerStore.Completed(requestId) with { Sources = RequestTransitions.WhileArchiving }, null),
            ],
            CancellationToken.None);

        Assert.Equal([false, true, false], results);
        Assert.Equal(RequestState.Failed, (await Store.RowAsync(requestId)).State);
    }

    [Fact]
    public async Task A_submit_lease_is_held_by_one_worker_and_only_for_the_provider_it_was_prepared_for()
    {
        var requestId = await Store.InsertReceivedAsync();
        var lease = TimeSpan.FromMinutes(1);

        Assert.Null(await Store.Leases.TryLeaseAsync(requestId, "gptimage15", "a", null, lease, TimeSpan.Zero, CancellationToken.None));
        Assert.NotNull(await Store.Leases.TryLeaseAsync(requestId, "evolink", "a", null, lease, TimeSpan.Zero, CancellationToken.None));
        Assert.Null(await Store.Leases.TryLeaseAsync(requestId, "evolink", "b", null, lease, TimeSpan.Zero, CancellationToken.None));
        // The holder's own claim may take it again (the scheduler's claim, then the attempt it runs).
        Assert.NotNull(await Store.Leases.TryLeaseAsync(requestId, "evolink", "c", heldBy: "a", lease, TimeSpan.Zero, CancellationToken.None));

        var row = await Store.RowAsync(requestId);
        Assert.Equal(2, row.SubmitAttempts);
        Assert.Equal(1, row.UnknownOutcomes);
        Assert.True(row.AttemptInFlight);
    }

    [Fact]
    public async Task Due_rows_are_claimed_by_one_owner_and_finished_rows_never()
    {
        var due = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Store.InsertReceivedAsync(dueAt: DateTimeOffset.UtcNow.AddSeconds(-1))));
        Assert.True(await Store.Terminal.TryFinishAsync(due[0], LedgerStore.Failed(due[0]), null, CancellationToken.None));
        var notYet = await Store.InsertReceivedAsync(dueAt: DateTimeOffset.UtcNow.AddMinutes(1));

        var claims = await Task.WhenAll(
            Store.Due.ClaimAsync("a", 10, TimeSpan.FromMinutes(1), CancellationToken.None),
            Store.Due.ClaimAsync("b", 10, TimeSpan.FromMinutes(1), CancellationToken.None));
        var claimed = claims.SelectMany(c => c).Select(r => r.RequestId).ToList();

        Assert.Equal(due[1..].Order(), claimed.Order());
        Assert.DoesNotContain(notYet, claimed);
        Assert.Empty(await Store.Due.ClaimAsync("c", 10, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.True(await Store.Due.RescheduleAsync(due[1], claims[0].Concat(claims[1]).Single(r => r.RequestId == due[1]).LeaseOwner!, DateTimeOffset.UtcNow.AddSeconds(-1), 40, CancellationToken.None));
        Assert.Equal([due[1]], (await Store.Due.ClaimAsync("c", 10, TimeSpan.FromMinutes(1), CancellationToken.None)).Select(r => r.RequestId));
    }

    [Fact]
    public async Task Concurrent_reschedules_share_statements_and_each_applies_to_its_own_row()
    {
        const int Rows = 200;
        var ids = await Task.WhenAll(Enumerable.Range(0, Rows).Select(_ => Store.InsertReceivedAsync(dueAt: DateTimeOffset.UtcNow.AddSeconds(-1))));
        var claimed = await Store.Due.ClaimAsync("a", Rows, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(ids.Order(), claimed.Select(r => r.RequestId).Order());
        var start = WholeSeconds(DateTimeOffset.UtcNow);
        using var batches = Store.ListenToBatches();

        var results = await Task.WhenAll(ids.Select((id, i) => Store.Due.RescheduleAsync(id, "a", start.AddSeconds(i), i % 100, CancellationToken.None)));

        Assert.All(results, Assert.True);
        Assert.Equal(Rows, batches.Rows("reschedule"));
        Assert.InRange(batches.Statements("reschedule"), 1, Rows / 10);
        for (var i = 0; i < Rows; i++)
        {
            var row = await Store.RowAsync(ids[i]);
            Assert.Equal((start.AddSeconds(i), 1, i % 100, null, null), (row.NextActionAt, row.PollCount, row.Progress, row.LeaseOwner, row.LeaseUntil));
        }
    }

    [Fact]
    public async Task A_batch_refuses_a_reschedule_by_another_owner_or_of_a_finished_row_and_applies_the_rest()
    {
        var ids = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Store.InsertReceivedAsync(dueAt: DateTimeOffset.UtcNow.AddSeconds(-1))));
        Assert.Equal(4, (await Store.Due.ClaimAsync("a", 10, TimeSpan.FromMinutes(1), CancellationToken.None)).Count);
        var (mine, others, finished, repeated) = (ids[0], ids[1], ids[2], ids[3]);
        // A finished row is leased to the outbox: only its state refuses that owner's reschedule.
        Assert.True(await Store.Terminal.TryFinishAsync(finished, LedgerStore.Failed(finished), null, CancellationToken.None));
        var before = await Store.RowAsync(finished);
        var next = WholeSeconds(DateTimeOffset.UtcNow.AddMinutes(5));

        var results = await Store.Due.RescheduleManyAsync(
            [
                new Reschedule(mine, "a", next, 30),
                new Reschedule(others, "b", next, 30),
                new Reschedule(finished, LeaseOwners.Outbox, next, 30),
                new Reschedule(Guid.NewGuid(), "a", next, 30),
                new Reschedule(repeated, "a", next, 30),
                new Reschedule(repeated, "a", next, 60),
            ],
            CancellationToken.None);

        // Applied; another owner's claim; a terminal row; no row; the first of two for one row, which ends the claim.
        Assert.Equal([true, false, false, false, true, false], results);
        var applied = await Store.RowAsync(mine);
        Assert.Equal((next, 1, 30, null), (applied.NextActionAt, applied.PollCount, applied.Progress, applied.LeaseOwner));
        var stillClaimed = await Store.RowAsync(others);
        Assert.Equal((0, 0, "a"), (stillClaimed.PollCount, stillClaimed.Progress, stillClaimed.LeaseOwner));
        var appliedOnce = await Store.RowAsync(repeated);
        Assert.Equal((1, 30), (appliedOnce.PollCount, appliedOnce.Progress));
        var after = await Store.RowAsync(finished);
        Assert.Equal((before.State, before.PollCount, before.NextActionAt, before.LeaseOwner, before.UpdatedAt), (after.State, after.PollCount, after.NextActionAt, after.LeaseOwner, after.UpdatedAt));
    }

    [Fact]
    public async Task A_reschedule_without_progress_keeps_the_progress_the_row_had()
    {
        var requestId = await Store.InsertReceivedAsync(dueAt: DateTimeOffset.UtcNow.AddSeconds(-1));
        Assert.Single(await Store.Due.ClaimAsync("a", 10, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.True(await Store.Due.RescheduleAsync(requestId, "a", DateTimeOffset.UtcNow.AddSeconds(-1), 40, CancellationToken.None));
        Assert.Single(await Store.Due.ClaimAsync("b", 10, TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.True(await Store.Due.RescheduleAsync(requestId, "b", DateTimeOffset.UtcNow.AddMinutes(1), null, CancellationToken.None));

        var row = await Store.RowAsync(requestId);
        Assert.Equal((40, 2, null), (row.Progress, row.PollCount, row.LeaseOwner));
    }

    [Fact]
    public async Task An_unpublished_event_goes_to_one_sweeper_and_is_marked_once()
    {
        var requestId = await Store.InsertReceivedAsync();
        Assert.True(await Store.Terminal.TryFinishAsync(requestId, LedgerStore.Failed(requestId), null, CancellationToken.None));
        // While its writer's publish lease runs, no sweeper may take it.
        Assert.False(await Store.Outbox.TryClaimForPublishAsync(requestId, "sweeper", TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.Equal(1, await Store.Outbox.MarkEventsPublishedAsync([requestId], CancellationToken.None));
        Assert.Equal(0, await Store.Outbox.MarkEventsPublishedAsync([requestId], CancellationToken.None));
        Assert.DoesNotContain(await Store.Outbox.FindUnpublishedAsync(100, CancellationToken.None), r => r.RequestId == requestId);
    }

    [Fact]
    public async Task New_requests_recorded_together_each_hold_their_first_lease_and_a_request_is_recorded_once()
    {
        var existing = await Store.InsertReceivedAsync();
        var fresh = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();
        // Due (lease + wait) well before the rows' 5-minute deadline, which would otherwise cap it: at exactly 5 minutes the
        // deadline, set a moment before the insert, won whenever the insert came more than a millisecond later.
        var (lease, wait) = (TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(1));
        // Twenty new requests, one of them twice (a command delivered twice at once), and one already recorded.
        var attempts = fresh.Append(fresh[0]).Append(existing)
            .Select(id => Task.Run(() => Store.Leases.TryInsertLeasedAsync(LedgerStore.NewReceived(id), lease, wait, CancellationToken.None)))
            .ToArray();
        var results = await Task.WhenAll(attempts);

        Assert.Null(results[^1]);
        Assert.Equal(1, results.Count(r => r?.RequestId == fresh[0]));
        Assert.Equal(fresh.Order(), results.OfType<ImageRequest>().Select(r => r.RequestId).Order());
        foreach (var leased in results.OfType<ImageRequest>())
        {
            var row = await Store.RowAsync(leased.RequestId);
            Assert.Equal((RequestState.Received, 1, 0, true, leased.LeaseOwner), (row.State, row.SubmitAttempts, row.UnknownOutcomes, row.AttemptInFlight, row.LeaseOwner));
            Assert.Equal(leased.LeaseUntil!.Value + wait, row.NextActionAt!.Value, TimeSpan.FromMilliseconds(1));
            // Only the lease holder may record the attempt's outcome; another worker cannot lease it meanwhile.
            Assert.Null(await Store.Leases.TryLeaseAsync(row.RequestId, row.Provider, "other", null, lease, wait, CancellationToken.None));
        }

        Assert.Equal(0, (await Store.RowAsync(existing)).SubmitAttempts);
    }

    [Fact]
    public async Task Tasks_recorded_together_each_move_only_their_own_received_row_to_submitted()
    {
        var (first, second, finished, missing) = (await Store.InsertReceivedAsync(), await Store.InsertReceivedAsync(), await Store.InsertReceivedAsync(), Guid.NewGuid());
        Assert.True(await Store.Terminal.TryFinishAsync(finished, LedgerStore.Failed(finished), null, CancellationToken.None));
        var nextPoll = DateTimeOffset.UtcNow.AddSeconds(30);

        var results = await Task.WhenAll(
            Task.Run(() => Store.Leases.TryMarkSubmittedAsync(first, "task-1", nextPoll, CancellationToken.None)),
            Task.Run(() => Store.Leases.TryMarkSubmittedAsync(second, "task-2", null, CancellationToken.None)),
            Task.Run(() => Store.Leases.TryMarkSubmittedAsync(finished, "task-3", nextPoll, CancellationToken.None)),
            Task.Run(() => Store.Leases.TryMarkSubmittedAsync(missing, "task-4", nextPoll, CancellationToken.None)),
            Task.Run(() => Store.Leases.TryMarkSubmittedAsync(first, "task-5", nextPoll, CancellationToken.None)));

        Assert.Equal([true, false, false], [results[1], results[2], results[3]]);
        // Of two marks of one row, the one that ran first wins, and the other finds it submitted already.
        Assert.True(results[0] ^ results[4]);
        var row = await Store.RowAsync(first);
        Assert.Equal((RequestState.Submitted, results[0] ? "task-1" : "task-5", false, null, null), (row.State, row.ProviderTaskId, row.AttemptInFlight, row.LeaseOwner, row.LeaseUntil));
        Assert.NotNull(row.SubmittedAt);
        Assert.Equal(nextPoll, row.NextActionAt!.Value, TimeSpan.FromMilliseconds(1));
        var other = await Store.RowAsync(second);
        Assert.Equal((RequestState.Submitted, "task-2", null), (other.State, other.ProviderTaskId, other.NextActionAt));
        Assert.Equal((RequestState.Failed, null), ((await Store.RowAsync(finished)).State, (await Store.RowAsync(finished)).ProviderTaskId));
    }

    [Fact]
    public async Task A_second_insert_of_the_same_request_is_a_duplicate()
    {
        var requestId = await Store.InsertReceivedAsync();
        var again = await Store.RowAsync(requestId);
        again.State = RequestState.Received;

        Assert.False(await Store.Rows.TryInsertAsync(again, CancellationToken.None));
    }

    /// <summary>An instant both databases keep exactly (PostgreSQL stores microseconds, not ticks).</summary>
    private static DateTimeOffset WholeSeconds(DateTimeOffset instant) =>
        new(instant.UtcTicks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
}

/// <summary><see cref="LedgerSuite"/> on PostgreSQL, the deployed ledger.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class PostgresLedgerTests(PostgresFixture postgres) : LedgerSuite
{
    protected override Task<LedgerStore> OpenAsync() => LedgerStore.OnPostgresAsync(postgres);
}

/// <summary><see cref="LedgerSuite"/> on SQLite, the embedded Host's ledger.</summary>
public sealed class SqliteLedgerTests : LedgerSuite
{
    protected override Task<LedgerStore> OpenAsync() => LedgerStore.OnSqliteAsync();
}
