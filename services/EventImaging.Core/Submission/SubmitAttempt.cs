using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Callbacks;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.Scheduling;
using EventImaging.Core.Telemetry;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>
/// One create call for a received row, under its submit lease: the consumer's first attempt, and every scheduled one
/// (a retry, an attempt whose outcome is unknown, a submitter that died mid-way), which the scheduler hands over as the
/// handler of received rows. What the call learnt is recorded on the row; what follows is the scheduler's.
/// </summary>
public sealed partial class SubmitAttempt(
    SubmitLeases leases,
    CallbackTokens tokens,
    Failover failover,
    RequestFinisher finisher,
    IBus bus,
    IOptions<SubmitterOptions> options,
    IOptions<PollingOptions> polling,
    RequestMetrics metrics,
    RequestHistory history,
    TimeProvider clock,
    ILogger<SubmitAttempt> logger) : IDueRowHandler
{
    public RequestState State => RequestState.Received;

    public Task SettleAsync(DueRow due, CancellationToken cancellationToken) =>
        SubmitAsync(due.Row, due.Provider, due.Claim, bus, cancellationToken);

    /// <summary>A request never sent (or whose sends all stayed unanswered) by its deadline times out.</summary>
    public Task<TerminalOutcome> AtDeadlineAsync(DueRow due, CancellationToken cancellationToken) =>
        Task.FromResult(Deadlines.Timeout(due.Row, clock.GetUtcNow()));

    /// <summary>
    /// A scheduled create attempt on a received row; <paramref name="claimedBy"/> is the scheduler's claim on it. The
    /// caller holds the request's log scope.
    /// </summary>
    /// <param name="publisher">Where <see cref="ImageSubmitted"/> goes: the consumed command's context, or the bus.</param>
    public async Task SubmitAsync(ImageRequest row, IImageProvider provider, string? claimedBy, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var prepared = Prepare(row);
        if (await leases.TryLeaseAsync(row, claimedBy, options.Value.SubmitLease, options.Value.UnknownOutcomeWait, Unstoppable) is not { } leased)
        {
            LogLeaseHeld(row.RequestId);
            return;
        }

        await SendAsync(leased, provider, prepared, publisher, cancellationToken);
    }

    /// <summary>
    /// Everything an attempt needs that can fail without the provider: reading the command and minting the callback token
    /// from the key ring in the ledger database. It comes before the lease: the lease marks the attempt as sent, and an
    /// attempt that never reached the provider must not count as one whose outcome is unknown.
    /// </summary>
    public PreparedSubmission Prepare(ImageRequest row)
    {
        var command = JsonSerializer.Deserialize<GenerateImage>(row.CommandJson, EventJson.Options)!;
        return new PreparedSubmission(command, new ProviderSubmission(
            row.Model,
            command.Prompt,
            command.Size ?? "1024x1024",
            command.Quality,
            command.ImageUrls,
            command.InputFidelity,
            tokens.CallbackUrlFor(row.RequestId, row.Provider, row.Deadline)));
    }

    /// <summary>
    /// What an attempt runs under from the moment its lease is asked for: nothing its caller can cancel. A lease marks the
    /// attempt as sent, so an attempt cut short (the consumed message's broker connection dropped, the host stopping)
    /// would leave an outcome nobody knows: the provider may have made the task, and the request would be sent again,
    /// billed twice, or fail after a second unknown outcome although its image exists. The provider client's timeouts
    /// bound the create; the lease's end bounds recording it.
    /// </summary>
    public static CancellationToken Unstoppable => CancellationToken.None;

    /// <summary>
    /// The create call under the submit lease <paramref name="leased"/> holds (its attempt and unknown-outcome counts, its
    /// owner and lease end), and what it learnt recorded on the row. It runs to its end (<see cref="Unstoppable"/>);
    /// <paramref name="announcing"/> gives up its publishes only: the informational <see cref="ImageSubmitted"/>, and a
    /// failure's terminal event once its row is committed (the outbox sweeper sends what it could not).
    /// </summary>
    public async Task SendAsync(ImageRequest leased, IImageProvider provider, PreparedSubmission prepared, IPublishEndpoint publisher, CancellationToken announcing)
    {
        var (command, submission) = prepared;
        using var span = RequestTracing.StartInRequestTrace("submit", leased);
        span?.SetTag("eventimaging.attempt", leased.SubmitAttempts);
        if (leased.UnknownOutcomes >= 2)
        {
            await FailAsync(leased, CreateFailurePolicy.TwoUnknownOutcomes(leased.Provider), announcing);
            return;
        }

        if (leased.UnknownOutcomes == 1)
        {
            LogResend(leased.RequestId, leased.Provider, options.Value.UnknownOutcomeWait);
        }

        ProviderTask task;
        var started = clock.GetTimestamp();
        try
        {
            task = await provider.CreateAsync(submission, Unstoppable);
            metrics.ProviderCall(leased.Provider, "create", "ok", clock.GetElapsedTime(started));
        }
        catch (ProviderException ex)
        {
            metrics.ProviderCall(leased.Provider, "create", ex.Kind.ToString().ToLowerInvariant(), clock.GetElapsedTime(started));
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Failure.Code);
            span?.SetTag("eventimaging.failure_kind", ex.Kind.ToString());
            history.Record(leased.RequestId, HistoryKinds.Submit, $"attempt {leased.SubmitAttempts} to {leased.Provider} {leased.Model}: {ex.Kind} (HTTP {ex.HttpStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}): {ex.Message}");
            await HandleFailureAsync(leased, command, ex, announcing);
            return;
        }

        history.Record(leased.RequestId, HistoryKinds.Submit, $"attempt {leased.SubmitAttempts} to {leased.Provider} {leased.Model}: accepted as task {task.TaskId}");

        var now = clock.GetUtcNow();
        var firstPoll = PollSchedule.First(now, task.EstimatedSeconds, submission.CallbackUrl is not null, polling.Value, leased.Deadline);
        if (!await leases.RecordAsync(leased, () => leases.TryMarkSubmittedAsync(leased.RequestId, task.TaskId, firstPoll, Unstoppable), Unstoppable))
        {
            // The provider's callback overtook us and finished the request; it published the outcome.
            return;
        }

        LogSubmitted(leased.RequestId, leased.Provider, leased.Model, task.TaskId);
        metrics.Submitted(leased);
        await AnnounceAsync(leased, command, task, now, publisher, announcing);
    }

    /// <param name="announcing">Gives up the publish of a terminal event only; everything else runs to its end.</param>
    private async Task HandleFailureAsync(ImageRequest leased, GenerateImage command, ProviderException ex, CancellationToken announcing)
    {
        if (await failover.TryAsync(leased, command, ex, Unstoppable))
        {
            return;
        }

        var decision = CreateFailurePolicy.Decide(ex, leased, clock.GetUtcNow(), Random.Shared.NextDouble(), options.Value);
        switch (decision.Action)
        {
            case CreateFailureAction.Retry:
                LogTransient(leased.RequestId, leased.Provider, ex.HttpStatus, ex.Message, decision.DueAt);
                break;
            case CreateFailureAction.WaitForCallback when ex.Kind == ProviderFailureKind.AcceptedUnusable:
                LogAcceptedUnusable(leased.RequestId, leased.Provider, ex.Message, decision.DueAt);
                break;
            case CreateFailureAction.WaitForCallback:
                LogUnknownOutcome(leased.RequestId, leased.Provider, ex.Message, decision.DueAt);
                break;
            default:
                await FailAsync(leased, ex.Failure, announcing);
                return;
        }

        await leases.RecordAsync(
            leased,
            () => leases.ScheduleAsync(leased.RequestId, leased.LeaseOwner!, decision.OutcomeKnown, decision.DueAt, Unstoppable),
            Unstoppable);
    }

    /// <summary>
    /// Ends the request as failed: the transition runs to its end, while the publish gives up with
    /// <paramref name="announcing"/> (a broker outage would hold it until the broker is back; the outbox sweeper sends
    /// what it could not).
    /// </summary>
    private Task<bool> FailAsync(ImageRequest leased, ProviderFailure failure, CancellationToken announcing)
    {
        var outcome = TerminalOutcome.Failed(leased, failure, null, clock.GetUtcNow());
        return leases.RecordAsync(leased, () => finisher.FinishAsync(leased, outcome, null, FinishedBy.Submitter, Unstoppable, announcing), Unstoppable);
    }

    /// <summary>Informational only: the task is recorded, and the terminal event has its own outbox, so a failed publish is only logged.</summary>
    private async Task AnnounceAsync(ImageRequest row, GenerateImage command, ProviderTask task, DateTimeOffset submittedAt, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        try
        {
            await publisher.Publish(
                new ImageSubmitted
                {
                    RequestId = row.RequestId,
                    Provider = row.Provider,
                    Model = row.Model,
                    Metadata = command.Metadata,
                    ProviderTaskId = task.TaskId,
                    SubmittedAt = submittedAt,
                    EstimatedSeconds = task.EstimatedSeconds,
                    CreditsReserved = task.Credits,
                },
                context => context.MessageId = MessageIds.Submitted(row.RequestId),
                cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSubmittedNotPublished(ex, row.RequestId);
        }
    }

    // As a completion (RequestFinisher): in the history, the trace and the metrics, not a line each.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} submitted to {Provider} {Model} as task {ProviderTaskId}")]
    private partial void LogSubmitted(Guid requestId, string provider, string model, string providerTaskId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} is being submitted by another worker")]
    private partial void LogLeaseHeld(Guid requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: transient failure at {Provider} (HTTP {Status}): {Reason}; next attempt at {RetryAt}")]
    private partial void LogTransient(Guid requestId, string provider, int? status, string reason, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: the create call to {Provider} got no answer ({Reason}); waiting for its callback until {DueAt} before sending once more")]
    private partial void LogUnknownOutcome(Guid requestId, string provider, string reason, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: {Provider} accepted the create but its answer cannot be used ({Reason}); it is never sent again, and waits for its callback until {Deadline}")]
    private partial void LogAcceptedUnusable(Guid requestId, string provider, string reason, DateTimeOffset deadline);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} was submitted, but its ImageSubmitted could not be published (it is informational; the terminal event is unaffected)")]
    private partial void LogSubmittedNotPublished(Exception exception, Guid requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: no callback came within {Wait} of an unanswered create call; sending it to {Provider} once more (this may be billed twice)")]
    private partial void LogResend(Guid requestId, string provider, TimeSpan wait);
}

/// <summary>A create attempt made ready before its lease: the command as recorded, and the call it makes.</summary>
public sealed record PreparedSubmission(GenerateImage Command, ProviderSubmission Submission);
