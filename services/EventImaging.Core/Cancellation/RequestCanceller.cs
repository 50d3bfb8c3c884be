using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.Requests;
using EventImaging.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Cancellation;

/// <summary>What a cancel did.</summary>
public enum CancelResult
{
    /// <summary>The request was running and now ends with <c>ImageFailed</c> <c>cancelled</c>.</summary>
    Cancelled,

    /// <summary>The request had already ended (or another writer ended it first): nothing changes.</summary>
    AlreadyFinished,

    /// <summary>No such request in the ledger: nothing changes.</summary>
    Unknown,
}

/// <summary>
/// Ends a running request at its caller's or an operator's word: the same terminal compare-and-set as every other
/// outcome (<see cref="RequestFinisher"/>), so of a cancel racing a callback or a poll exactly one wins and exactly one
/// terminal event follows. The row's due time goes with the transition, so polling stops; a late callback or poll finds
/// the row terminal and changes nothing. The providers document no cancel endpoint, so a task already sent runs on at the
/// provider; only its outcome is no longer reported.
/// </summary>
public sealed partial class RequestCanceller(
    RequestRows rows,
    RequestFinisher finisher,
    RequestHistory history,
    TimeProvider clock,
    ILogger<RequestCanceller> logger)
{
    /// <summary>The longest reason kept; the rest is cut.</summary>
    public const int MaxReasonLength = 500;

    /// <param name="by">Who asked, in words (<c>the caller</c>, <c>an operator</c>): it goes into the event's message.</param>
    public async Task<CancelOutcome> CancelAsync(Guid requestId, string? reason, string by, CancellationToken cancellationToken)
    {
        var row = await rows.FindAsync(requestId, cancellationToken);
        if (row is null)
        {
            LogUnknown(requestId, by);
            return new CancelOutcome(CancelResult.Unknown, null);
        }

        using var logScope = logger.BeginRequestScope(row);
        var message = string.IsNullOrWhiteSpace(reason)
            ? $"Cancelled by {by}."
            : $"Cancelled by {by}: {CallerText.Shorten(reason, MaxReasonLength)}";
        if (row.State.IsTerminal())
        {
            history.Record(requestId, HistoryKinds.Cancel, $"asked by {by} after the request ended ({row.State.ToString().ToLowerInvariant()}); nothing changes");
            LogAlreadyFinished(requestId, row.State, by);
            return new CancelOutcome(CancelResult.AlreadyFinished, row.State);
        }

        history.Record(requestId, HistoryKinds.Cancel, message);
        // The compare-and-set may leave any state that is not terminal, so it loses only to an outcome that ended the
        // request; another writer may still move it between two running states first (submitted, archiving): try again.
        for (var attempt = 0; attempt < MaxAttempts && !row.State.IsTerminal(); attempt++)
        {
            var outcome = TerminalOutcome.Failed(row, new ProviderFailure(FailureCodes.Cancelled, null, message, false), row.ProviderTaskId, clock.GetUtcNow())
                with { Sources = RequestTransitions.NotTerminal };
            if (await finisher.FinishAsync(row, outcome, null, FinishedBy.Cancel, cancellationToken))
            {
                return new CancelOutcome(CancelResult.Cancelled, RequestState.Failed);
            }

            row = await rows.FindAsync(requestId, cancellationToken) ?? row;
        }

        LogAlreadyFinished(requestId, row.State, by);
        return new CancelOutcome(CancelResult.AlreadyFinished, row.State);
    }

    /// <summary>Compare-and-set attempts of one cancel: a request moves through at most two running states after it was read.</summary>
    private const int MaxAttempts = 3;

    [LoggerMessage(Level = LogLevel.Information, Message = "Cancel of request {RequestId} by {By}: the ledger has no such request; nothing changes")]
    private partial void LogUnknown(Guid requestId, string by);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cancel of request {RequestId} by {By}: it had already ended ({State}); nothing changes")]
    private partial void LogAlreadyFinished(Guid requestId, RequestState? state, string by);
}

/// <summary>What a cancel did, and the request's state after it (null for an unknown request).</summary>
public sealed record CancelOutcome(CancelResult Result, RequestState? State);
