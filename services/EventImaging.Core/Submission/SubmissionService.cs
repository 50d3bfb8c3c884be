using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Requests;
using EventImaging.Core.Telemetry;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>
/// The submit flow of a consumed command: route, validate, record, send. Every later step (retries, recovery after a
/// crash, the deadline) is a due time on the recorded row, so a duplicate or redelivered command does nothing.
/// </summary>
public sealed partial class SubmissionService(
    RequestRouter router,
    InvalidCommands invalid,
    NewRows newRows,
    RequestRows rows,
    SubmitLeases leases,
    SubmitAttempt attempt,
    IOptions<SubmitterOptions> options,
    RequestHistory history,
    ILogger<SubmissionService> logger)
{
    /// <param name="publisher">The consumed command's context, to which the answers it causes are linked.</param>
    public async Task HandleAsync(GenerateImage command, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var routed = router.Route(command);
        using var logScope = logger.BeginRequestScope(command.RequestId, routed.Provider);
        if (await invalid.TryRejectAsync(routed, publisher, cancellationToken))
        {
            return;
        }

        var row = newRows.Received(routed);
        var prepared = attempt.Prepare(row);
        if (await leases.TryInsertLeasedAsync(row, options.Value.SubmitLease, options.Value.UnknownOutcomeWait, SubmitAttempt.Unstoppable) is not { } leased)
        {
            // The ledger already drives this request (retries, crash recovery and deadline included).
            var state = (await rows.FindAsync(command.RequestId, cancellationToken))?.State;
            history.Record(command.RequestId, HistoryKinds.Received, $"again (a duplicate command, the request being {state?.ToString().ToLowerInvariant()}); nothing to do");
            LogDuplicate(command.RequestId, state);
            return;
        }

        history.Record(leased.RequestId, HistoryKinds.Received, $"for {leased.Provider} {leased.Model}, deadline {leased.Deadline:O}");
        await attempt.SendAsync(leased, routed.Client!, prepared, publisher, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} is a duplicate (ledger state {State}); nothing to do")]
    private partial void LogDuplicate(Guid requestId, RequestState? state);
}
