using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Requests;
using EventImaging.Core.Telemetry;
using MassTransit;
using Microsoft.Extensions.Logging;

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
    SubmitAttempt attempt,
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
        if (!await rows.TryInsertAsync(row, cancellationToken))
        {
            // The ledger already drives this request (retries, crash recovery and deadline included).
            var state = (await rows.FindAsync(command.RequestId, cancellationToken))?.State;
            history.Record(command.RequestId, HistoryKinds.Received, $"again (a duplicate command, the request being {state?.ToString().ToLowerInvariant()}); nothing to do");
            LogDuplicate(command.RequestId, state);
            return;
        }

        history.Record(row.RequestId, HistoryKinds.Received, $"for {row.Provider} {row.Model}, deadline {row.Deadline:O}");

        await attempt.SubmitAsync(row, routed.Client!, claimedBy: null, publisher, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} is a duplicate (ledger state {State}); nothing to do")]
    private partial void LogDuplicate(Guid requestId, RequestState? state);
}
