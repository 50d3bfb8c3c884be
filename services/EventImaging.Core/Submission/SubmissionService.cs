using System.Diagnostics;
using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Outbox;
using EventImaging.Core.Polling;
using EventImaging.Core.Providers;
using EventImaging.Core.Requests;
using EventImaging.Core.Telemetry;
using FluentValidation;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>
/// The submit flow: validate, record, call the provider, record the task. Every step is driven by the
/// ledger: retries, recovery after a crash and the deadline are due times the polling fallback acts on, so a
/// duplicate or redelivered command does nothing.
/// </summary>
public sealed partial class SubmissionService(
    RequestRouter router,
    IValidator<RoutedCommand> validator,
    RequestLedger ledger,
    CallbackTokens tokens,
    TerminalEventPublisher terminalEvents,
    IPublishEndpoint publisher,
    WorkerIdentity worker,
    IOptions<RequestOptions> requestOptions,
    IOptions<SubmitterOptions> submitterOptions,
    IOptions<PollingOptions> pollingOptions,
    RequestMetrics metrics,
    TimeProvider clock,
    ILogger<SubmissionService> logger)
{
    public async Task HandleAsync(GenerateImage command, CancellationToken cancellationToken)
    {
        var routed = router.Route(command);
        using var logScope = logger.BeginRequestScope(command.RequestId, routed.Provider);
        var validation = await validator.ValidateAsync(routed, cancellationToken);
        if (!validation.IsValid)
        {
            await RejectInvalidAsync(routed, GenerateImageValidator.Reason(validation), cancellationToken);
            return;
        }

        var row = NewRow(routed);
        if (!await ledger.TryInsertAsync(row, cancellationToken))
        {
            // The ledger already drives this request (retries, crash recovery and deadline included).
            LogDuplicate(command.RequestId, (await ledger.FindAsync(command.RequestId, cancellationToken))?.State);
            return;
        }

        await SubmitAsync(row, routed.Client!, claimedBy: null, cancellationToken);
    }

    /// <summary>
    /// One create attempt for a received row, under its submit lease. Used by the consumer for the first
    /// attempt and by the poller for scheduled retries (<paramref name="claimedBy"/> is its claim).
    /// Everything that can fail without the provider (reading the command, minting the callback token from the key
    /// ring in the ledger database) happens before the lease: the lease marks the attempt as sent, and an attempt that
    /// never reached the provider must not count as one whose outcome is unknown.
    /// </summary>
    public async Task SubmitAsync(ImageRequest row, IImageProvider provider, string? claimedBy, CancellationToken cancellationToken)
    {
        var command = JsonSerializer.Deserialize<GenerateImage>(row.CommandJson, EventJson.Options)!;
        var submission = new ProviderSubmission(
            row.Model,
            command.Prompt,
            command.Size ?? "1024x1024",
            command.Quality,
            command.ImageUrls,
            command.InputFidelity,
            tokens.CallbackUrlFor(row.RequestId, row.Provider, row.Deadline));

        var owner = $"{worker.Name}:{Guid.NewGuid():N}";
        var options = submitterOptions.Value;
        if (await ledger.TryLeaseForSubmitAsync(row.RequestId, row.Provider, owner, claimedBy, options.SubmitLease, options.UnknownOutcomeWait, cancellationToken)
            is not { } leaseUntil)
        {
            LogLeaseHeld(row.RequestId);
            return;
        }

        // The row as leased (its attempt and unknown-outcome counts); read again while the ledger blips, as the lease
        // already marks the attempt as sent.
        var requestId = row.RequestId;
        row = await RecordAsync(leaseUntil, () => ledger.FindAsync(requestId, cancellationToken), cancellationToken)
            ?? throw new InvalidOperationException($"Request {requestId} vanished from the ledger while leased.");
        // The caller holds the request's log scope: the consumer (HandleAsync) or the poller (a scheduled retry).
        using var span = RequestTracing.StartInRequestTrace("submit", row);
        span?.SetTag("eventimaging.attempt", row.SubmitAttempts);
        if (row.UnknownOutcomes >= 2)
        {
            var unknown = new ProviderFailure(
                FailureCodes.ProviderError,
                null,
                $"Two create calls to {row.Provider} ended without an answer and no callback came; the outcome is unknown, so the request is not sent a third time.",
                true);
            await FailAsync(row, unknown, null, cancellationToken);
            return;
        }

        if (row.UnknownOutcomes == 1)
        {
            LogResend(row.RequestId, row.Provider, options.UnknownOutcomeWait);
        }

        ProviderTask task;
        var started = clock.GetTimestamp();
        try
        {
            task = await provider.CreateAsync(submission, cancellationToken);
            metrics.ProviderCall(row.Provider, "create", "ok", clock.GetElapsedTime(started));
        }
        catch (ProviderException ex)
        {
            metrics.ProviderCall(row.Provider, "create", ex.Kind.ToString().ToLowerInvariant(), clock.GetElapsedTime(started));
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Failure.Code);
            span?.SetTag("eventimaging.failure_kind", ex.Kind.ToString());
            await HandleCreateFailureAsync(row, command, owner, ex, cancellationToken);
            return;
        }

        var now = clock.GetUtcNow();
        var firstPoll = PollSchedule.First(now, task.EstimatedSeconds, submission.CallbackUrl is not null, pollingOptions.Value, row.Deadline);
        if (!await RecordAsync(row, () => ledger.TryMarkSubmittedAsync(row.RequestId, task.TaskId, firstPoll, cancellationToken), cancellationToken))
        {
            // The provider's callback overtook us and finished the request; it published the outcome.
            return;
        }

        LogSubmitted(row.RequestId, row.Provider, row.Model, task.TaskId);
        metrics.Submitted(row);
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
                    SubmittedAt = now,
                    EstimatedSeconds = task.EstimatedSeconds,
                    CreditsReserved = task.Credits,
                },
                context => context.MessageId = MessageIds.Submitted(row.RequestId),
                cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Informational only: the task is recorded, and the terminal event has its own outbox.
            LogSubmittedNotPublished(ex, row.RequestId);
        }
    }

    private async Task HandleCreateFailureAsync(ImageRequest row, GenerateImage command, string owner, ProviderException ex, CancellationToken cancellationToken)
    {
        var options = submitterOptions.Value;
        if (WouldAnotherProviderServe(ex) && await TryFailoverAsync(row, command, owner, ex, cancellationToken))
        {
            return;
        }

        switch (ex.Kind)
        {
            case ProviderFailureKind.Transient:
                var retryAt = RetrySchedule.Next(clock.GetUtcNow(), row.SubmitAttempts, ex.RetryAfter, Random.Shared.NextDouble(), options);
                LogTransient(row.RequestId, row.Provider, ex.HttpStatus, ex.Message, retryAt);
                await RecordAsync(row, () => ledger.ScheduleSubmitAsync(row.RequestId, owner, outcomeKnown: true, retryAt, cancellationToken), cancellationToken);
                break;
            case ProviderFailureKind.OutcomeUnknown:
                // Never re-sent at once: the provider may have created (and billed) the task. Its callback, bound to
                // this request rather than to a task id, can still finish the request while we wait.
                var dueAt = clock.GetUtcNow() + options.UnknownOutcomeWait;
                LogUnknownOutcome(row.RequestId, row.Provider, ex.Message, dueAt);
                await RecordAsync(row, () => ledger.ScheduleSubmitAsync(row.RequestId, owner, outcomeKnown: false, dueAt, cancellationToken), cancellationToken);
                break;
            case ProviderFailureKind.AcceptedUnusable:
                // Only the task's callback, bound to this request, can finish it now; if none comes, the deadline does.
                LogAcceptedUnusable(row.RequestId, row.Provider, ex.Message, row.Deadline);
                await RecordAsync(row, () => ledger.ScheduleSubmitAsync(row.RequestId, owner, outcomeKnown: false, row.Deadline, cancellationToken), cancellationToken);
                break;
            default:
                await FailAsync(row, ex.Failure, null, cancellationToken);
                break;
        }
    }

    /// <summary>Failures that say nothing about the request itself: another provider may well serve it.</summary>
    private static bool WouldAnotherProviderServe(ProviderException ex) =>
        ex.Failure.Code is FailureCodes.InsufficientQuota or FailureCodes.Unauthorized
        || ex.InnerException is Polly.CircuitBreaker.BrokenCircuitException;

    private async Task<bool> TryFailoverAsync(ImageRequest row, GenerateImage command, string owner, ProviderException ex, CancellationToken cancellationToken)
    {
        foreach (var next in router.FailoverAfter(command, row.Provider))
        {
            if ((await validator.ValidateAsync(next, cancellationToken)).IsValid
                && await ledger.TrySwitchProviderAsync(row.RequestId, owner, next.Provider, next.Model!, cancellationToken))
            {
                LogFailover(row.RequestId, row.Provider, ex.Failure.Code, next.Provider, next.Model!);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Records what a create attempt learnt, retrying while the ledger is unreachable, until the attempt's submit lease
    /// runs out. Only this process knows the outcome: lost, a create that was answered would later count as one whose
    /// outcome is unknown, and might be sent again.
    /// </summary>
    private Task<T> RecordAsync<T>(ImageRequest leased, Func<Task<T>> write, CancellationToken cancellationToken) =>
        RecordAsync(leased.LeaseUntil ?? clock.GetUtcNow(), write, cancellationToken);

    private async Task<T> RecordAsync<T>(DateTimeOffset until, Func<Task<T>> write, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                return await write();
            }
            catch (Exception ex) when (LedgerFaults.IsUnavailable(ex) && clock.GetUtcNow() + wait < until)
            {
                LogRecordRetry(wait);
                await Task.Delay(wait, clock, cancellationToken);
                wait = wait * 2 < MaxRecordWait ? wait * 2 : MaxRecordWait;
            }
        }
    }

    private Task<bool> RecordAsync(ImageRequest leased, Func<Task> write, CancellationToken cancellationToken) =>
        RecordAsync(leased, async () =>
        {
            await write();
            return true;
        }, cancellationToken);

    private static readonly TimeSpan MaxRecordWait = TimeSpan.FromSeconds(5);

    private async Task RejectInvalidAsync(RoutedCommand routed, string reason, CancellationToken cancellationToken)
    {
        var command = routed.Command;
        LogInvalid(command.RequestId, reason);
        var now = clock.GetUtcNow();
        var row = RejectedRow(routed, now);
        var outcome = TerminalOutcome.Failed(row, new ProviderFailure(FailureCodes.InvalidRequest, null, reason, false), null, now);
        if (command.RequestId == Guid.Empty)
        {
            // Nothing to key a ledger row on, so the command itself is the outbox: the answer is published within its
            // consumption, and a failed publish fails the consumption (the broker delivers the command again). The
            // MessageId comes from the command, so a redelivery's answer is recognisably the same.
            await publisher.Publish(
                (ImageFailed)outcome.Event,
                context => context.MessageId = MessageIds.Unkeyed(JsonSerializer.Serialize(command, EventJson.Options)),
                cancellationToken);
            return;
        }

        row.State = outcome.State;
        row.EventType = outcome.EventType;
        row.EventJson = outcome.EventJson;
        row.ErrorCode = outcome.ErrorCode;
        row.ErrorMessage = outcome.ErrorMessage;
        row.FinishedAt = now;
        if (await ledger.TryInsertAsync(row, cancellationToken))
        {
            metrics.Finished(row, outcome, null);
            await terminalEvents.PublishAsync(row.RequestId, outcome, cancellationToken);
        }
        else
        {
            LogDuplicate(row.RequestId, null);
        }
    }

    private async Task FailAsync(ImageRequest row, ProviderFailure failure, string? taskId, CancellationToken cancellationToken)
    {
        var outcome = TerminalOutcome.Failed(row, failure, taskId, clock.GetUtcNow());
        if (await RecordAsync(row, () => ledger.TryFinishAsync(row.RequestId, outcome, taskId, cancellationToken), cancellationToken))
        {
            LogFailed(row.RequestId, row.Provider, failure.Code, failure.ProviderCode);
            metrics.Finished(row, outcome, null);
            await terminalEvents.PublishAsync(row.RequestId, outcome, cancellationToken);
        }
    }

    private ImageRequest NewRow(RoutedCommand routed)
    {
        var command = routed.Command;
        var now = clock.GetUtcNow();
        return new ImageRequest
        {
            RequestId = command.RequestId,
            Provider = routed.Provider,
            Model = routed.ModelForEvents,
            State = RequestState.Received,
            // The command as the caller sent it: whether it named a provider decides failover.
            CommandJson = JsonSerializer.Serialize(command, EventJson.Options),
            // Every instant in the ledger is UTC: PostgreSQL takes no other offset, and SQLite orders them as numbers.
            Deadline = (command.Deadline ?? now + requestOptions.Value.DefaultDeadline).ToUniversalTime(),
            // If this worker dies before it takes the submit lease, the poller submits the row after this.
            NextActionAt = now + submitterOptions.Value.SubmitLease,
            TraceParent = Activity.Current?.Id,
            TraceState = Activity.Current?.TraceStateString,
        };
    }

    /// <summary>
    /// The row of an invalid command, which is born terminal: what the caller wrote is kept only as far as it is bounded
    /// (provider and model cut to their columns, metadata only when it is valid to echo), never the rest of the body.
    /// </summary>
    private static ImageRequest RejectedRow(RoutedCommand routed, DateTimeOffset now)
    {
        var command = routed.Command;
        var kept = new GenerateImage
        {
            RequestId = command.RequestId,
            Prompt = "",
            Metadata = MetadataRules.IsValid(command.Metadata) ? command.Metadata : null,
        };
        return new ImageRequest
        {
            RequestId = command.RequestId,
            Provider = CallerText.Shorten(routed.Provider, LedgerDbContext.ProviderLength),
            Model = CallerText.Shorten(routed.ModelForEvents, LedgerDbContext.ModelLength),
            State = RequestState.Received,
            CommandJson = JsonSerializer.Serialize(kept, EventJson.Options),
            Deadline = now,
            TraceParent = Activity.Current?.Id,
            TraceState = Activity.Current?.TraceStateString,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} submitted to {Provider} {Model} as task {ProviderTaskId}")]
    private partial void LogSubmitted(Guid requestId, string provider, string model, string providerTaskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} failed: {Code} (provider code {ProviderCode}) at {Provider}")]
    private partial void LogFailed(Guid requestId, string provider, string code, string? providerCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: {Provider} failed with {Code}; failing over to {NextProvider} {NextModel}")]
    private partial void LogFailover(Guid requestId, string provider, string code, string nextProvider, string nextModel);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} rejected as invalid: {Reason}")]
    private partial void LogInvalid(Guid requestId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} is a duplicate (ledger state {State}); nothing to do")]
    private partial void LogDuplicate(Guid requestId, RequestState? state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} is being submitted by another worker")]
    private partial void LogLeaseHeld(Guid requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: transient failure at {Provider} (HTTP {Status}): {Reason}; next attempt at {RetryAt}")]
    private partial void LogTransient(Guid requestId, string provider, int? status, string reason, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: the create call to {Provider} got no answer ({Reason}); waiting for its callback until {DueAt} before sending once more")]
    private partial void LogUnknownOutcome(Guid requestId, string provider, string reason, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: {Provider} accepted the create but its answer cannot be used ({Reason}); it is never sent again, and waits for its callback until {Deadline}")]
    private partial void LogAcceptedUnusable(Guid requestId, string provider, string reason, DateTimeOffset deadline);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ledger is unreachable during a create attempt; trying again in {Wait}")]
    private partial void LogRecordRetry(TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} was submitted, but its ImageSubmitted could not be published (it is informational; the terminal event is unaffected)")]
    private partial void LogSubmittedNotPublished(Exception exception, Guid requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: no callback came within {Wait} of an unanswered create call; sending it to {Provider} once more (this may be billed twice)")]
    private partial void LogResend(Guid requestId, string provider, TimeSpan wait);
}
