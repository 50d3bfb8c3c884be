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
using FluentValidation;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>
/// The submit flow: validate, record, call the provider, record the task. Every step is driven by the
/// ledger, so a redelivered command resumes where the last attempt stopped and a duplicate does nothing.
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
    TimeProvider clock,
    ILogger<SubmissionService> logger)
{
    /// <param name="finalAttempt">True when no redelivery follows a transient failure: it becomes <c>ImageFailed</c>.</param>
    public async Task HandleAsync(GenerateImage command, bool finalAttempt, CancellationToken cancellationToken)
    {
        var routed = router.Route(command);
        var validation = await validator.ValidateAsync(routed, cancellationToken);
        if (!validation.IsValid)
        {
            var message = "Invalid request: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage).Distinct());
            await RejectInvalidAsync(routed, message, cancellationToken);
            return;
        }

        var row = NewRow(routed);
        if (!await ledger.TryInsertAsync(row, cancellationToken))
        {
            var existing = await ledger.FindAsync(command.RequestId, cancellationToken);
            if (existing is not { State: RequestState.Received })
            {
                LogDuplicate(command.RequestId, existing?.State);
                return;
            }

            // A redelivery of a command whose submission did not finish: resume it under the lease.
            row = existing;
        }

        await SubmitAsync(row, routed.Client!, finalAttempt, cancellationToken);
    }

    private async Task SubmitAsync(ImageRequest row, IImageProvider provider, bool finalAttempt, CancellationToken cancellationToken)
    {
        if (!await ledger.TryLeaseForSubmitAsync(row.RequestId, worker.Name, submitterOptions.Value.SubmitLease, cancellationToken))
        {
            LogLeaseHeld(row.RequestId);
            if (finalAttempt)
            {
                return;
            }

            // Another copy of this command is being submitted right now; look again after it has finished.
            throw new SubmissionBusyException(row.RequestId);
        }

        var command = JsonSerializer.Deserialize<GenerateImage>(row.CommandJson, EventJson.Options)!;
        var submission = new ProviderSubmission(
            row.Model,
            command.Prompt,
            command.Size ?? "1024x1024",
            command.Quality,
            command.ImageUrls,
            command.InputFidelity,
            tokens.CallbackUrlFor(row.RequestId, row.Provider, row.Deadline));

        ProviderTask task;
        try
        {
            task = await provider.CreateAsync(submission, cancellationToken);
        }
        catch (ProviderException ex) when (ex.Kind == ProviderFailureKind.Transient && !finalAttempt && clock.GetUtcNow() < row.Deadline)
        {
            LogTransient(row.RequestId, row.Provider, ex.HttpStatus, ex.Message);
            await ledger.ReleaseLeaseAsync(row.RequestId, worker.Name, cancellationToken);
            throw;
        }
        catch (ProviderException ex)
        {
            var message = ex.Kind == ProviderFailureKind.OutcomeUnknown
                ? $"The provider's answer to the create call never came; the task may or may not exist ({ex.Message})"
                : ex.Message;
            await FailAsync(row, ex.Failure with { Message = message }, null, cancellationToken);
            return;
        }

        var now = clock.GetUtcNow();
        var firstPoll = PollSchedule.First(now, task.EstimatedSeconds, submission.CallbackUrl is not null, pollingOptions.Value, row.Deadline);
        if (!await ledger.TryMarkSubmittedAsync(row.RequestId, task.TaskId, firstPoll, cancellationToken))
        {
            // The provider's callback overtook us and finished the request; it published the outcome.
            return;
        }

        LogSubmitted(row.RequestId, row.Provider, row.Model, task.TaskId);
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

    private async Task RejectInvalidAsync(RoutedCommand routed, string message, CancellationToken cancellationToken)
    {
        LogInvalid(routed.Command.RequestId, message);
        var row = NewRow(routed);
        var now = clock.GetUtcNow();
        var outcome = TerminalOutcome.Failed(row, new ProviderFailure(FailureCodes.InvalidRequest, null, message, false), null, now);
        if (routed.Command.RequestId == Guid.Empty)
        {
            // Nothing to key a ledger row on: answer once, directly.
            await terminalEvents.PublishAsync(Guid.Empty, outcome.EventType, outcome.EventJson, cancellationToken);
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
            await terminalEvents.PublishAsync(row, cancellationToken);
        }
        else
        {
            LogDuplicate(row.RequestId, null);
        }
    }

    private async Task FailAsync(ImageRequest row, ProviderFailure failure, string? taskId, CancellationToken cancellationToken)
    {
        var outcome = TerminalOutcome.Failed(row, failure, taskId, clock.GetUtcNow());
        if (await ledger.TryFinishAsync(row.RequestId, outcome, taskId, cancellationToken))
        {
            LogFailed(row.RequestId, row.Provider, failure.Code, failure.ProviderCode);
            await terminalEvents.PublishAsync(row.RequestId, outcome.EventType, outcome.EventJson, cancellationToken);
        }
    }

    private ImageRequest NewRow(RoutedCommand routed)
    {
        var command = routed.Command;
        var normalised = command with { Provider = routed.Provider, Model = routed.ModelForEvents };
        var deadline = command.Deadline ?? clock.GetUtcNow() + requestOptions.Value.DefaultDeadline;
        return new ImageRequest
        {
            RequestId = command.RequestId,
            Provider = routed.Provider,
            Model = routed.ModelForEvents,
            State = RequestState.Received,
            CommandJson = JsonSerializer.Serialize(normalised, EventJson.Options),
            Deadline = deadline,
            // Until it is submitted, only its deadline is due: the poller ends it there if it is still unsent.
            NextActionAt = deadline,
            TraceParent = Activity.Current?.Id,
            TraceState = Activity.Current?.TraceStateString,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} submitted to {Provider} {Model} as task {ProviderTaskId}")]
    private partial void LogSubmitted(Guid requestId, string provider, string model, string providerTaskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} failed: {Code} (provider code {ProviderCode}) at {Provider}")]
    private partial void LogFailed(Guid requestId, string provider, string code, string? providerCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} rejected as invalid: {Reason}")]
    private partial void LogInvalid(Guid requestId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} is a duplicate (ledger state {State}); nothing to do")]
    private partial void LogDuplicate(Guid requestId, RequestState? state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} is being submitted by another worker")]
    private partial void LogLeaseHeld(Guid requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: transient failure at {Provider} (HTTP {Status}): {Reason}; it will be retried")]
    private partial void LogTransient(Guid requestId, string provider, int? status, string reason);
}
