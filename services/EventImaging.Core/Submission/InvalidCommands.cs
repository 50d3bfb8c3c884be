using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.Requests;
using FluentValidation;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>
/// Answers a command that fails validation with exactly one <see cref="ImageFailed"/> (code <c>invalid_request</c>)
/// naming every problem, before any provider call.
/// </summary>
public sealed partial class InvalidCommands(
    IValidator<RoutedCommand> validator,
    NewRows newRows,
    RequestRows rows,
    RequestFinisher finisher,
    IOptions<OutboxOptions> outbox,
    RequestHistory history,
    ILogger<InvalidCommands> logger)
{
    /// <summary>True when the command was invalid and is answered (or was answered before, for a duplicate).</summary>
    /// <param name="publisher">The consumed command's context: an answer without a ledger row is published within its consumption.</param>
    public async Task<bool> TryRejectAsync(RoutedCommand routed, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var validation = await validator.ValidateAsync(routed, cancellationToken);
        if (validation.IsValid)
        {
            return false;
        }

        var reason = GenerateImageValidator.Reason(validation);
        var command = routed.Command;
        LogInvalid(command.RequestId, reason);
        var row = newRows.Rejected(routed);
        var outcome = TerminalOutcome.Failed(row, new ProviderFailure(FailureCodes.InvalidRequest, null, reason, false), null, row.Deadline);
        if (command.RequestId == Guid.Empty)
        {
            // Nothing to key a ledger row on, so the command itself is the outbox: the answer is published within its
            // consumption, and a failed publish fails the consumption (the broker delivers the command again). The
            // MessageId comes from the command, so a redelivery's answer is recognisably the same.
            await publisher.Publish(
                (ImageFailed)outcome.Event,
                context => context.MessageId = MessageIds.Unkeyed(JsonSerializer.Serialize(command, EventJson.Options)),
                cancellationToken);
            return true;
        }

        // Born terminal: never due, and, as after any terminal transition, its writer publishes its event while sweepers keep off.
        row.State = outcome.State;
        row.EventType = outcome.EventType;
        row.EventJson = outcome.EventJson;
        row.ErrorCode = outcome.ErrorCode;
        row.ErrorMessage = outcome.ErrorMessage;
        row.FinishedAt = row.Deadline;
        row.NextActionAt = null;
        row.LeaseOwner = LeaseOwners.Outbox;
        row.LeaseUntil = row.Deadline + outbox.Value.PublishLease;
        if (await rows.TryInsertAsync(row, cancellationToken))
        {
            history.Record(row.RequestId, HistoryKinds.Received, "an invalid command, answered at once");
            await finisher.AnnounceAsync(row, outcome, null, FinishedBy.Submitter, cancellationToken);
        }
        else
        {
            history.Record(row.RequestId, HistoryKinds.Received, "again (a duplicate of an invalid command); nothing to do");
            LogDuplicate(row.RequestId);
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} rejected as invalid: {Reason}")]
    private partial void LogInvalid(Guid requestId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} is a duplicate of a command already answered; nothing to do")]
    private partial void LogDuplicate(Guid requestId);
}
