using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Scheduling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Archiving;

/// <summary>
/// The archive step, as the handler of archiving due rows: copies the images of a request whose outcome is known
/// (<see cref="ImageCopier"/>), then ends it with the <c>ImageCompleted</c> that carries the copies. A failed copy is
/// tried again with backoff, from the ledger, by any replica; after <c>Archive:MaxAttempts</c>, or at once when it cannot
/// succeed, the request completes with the provider's URLs and the reason (or fails, when archiving is required). A
/// replica killed mid-copy only loses its claim: nothing was published, and the next copy overwrites the same objects.
/// </summary>
public sealed partial class ArchiveStep(
    ImageCopier copier,
    ArchiveRows rows,
    RequestFinisher finisher,
    RequestHistory history,
    IOptions<ArchiveOptions> options,
    TimeProvider clock,
    ILogger<ArchiveStep> logger) : IDueRowHandler, IDisposable
{
    private readonly SemaphoreSlim copies = new(options.Value.MaxConcurrentCopies);

    public RequestState State => RequestState.Archiving;

    public void Dispose() => copies.Dispose();

    public async Task SettleAsync(DueRow due, CancellationToken cancellationToken)
    {
        var row = due.Row;
        var attempt = row.ArchiveAttempts + 1;
        var (outcome, failure) = await CopyAsync(row, attempt, due.QueryBudget);
        if (outcome is null && failure is { Permanent: false } && attempt < options.Value.MaxAttempts)
        {
            // At the deadline the copy gets its last attempt (AtDeadlineAsync): nothing is due after it.
            var next = Deadlines.NoLaterThanDeadline(
                RetrySchedule.Next(clock.GetUtcNow(), attempt, null, Random.Shared.NextDouble(), options.Value.RetryInitialInterval, options.Value.RetryMaxInterval),
                row.Deadline);
            LogRetry(row.RequestId, attempt, failure.Message, next);
            await rows.RetryLaterAsync(row.RequestId, due.Claim, next, cancellationToken);
            return;
        }

        await finisher.FinishAsync(row, outcome ?? GiveUp(row, failure!, attempt), row.ProviderTaskId, FinishedBy.Archive, cancellationToken);
    }

    /// <summary>At the deadline the copy gets one more attempt; whatever it cannot do then, the request ends without it.</summary>
    public async Task<TerminalOutcome> AtDeadlineAsync(DueRow due, CancellationToken cancellationToken)
    {
        var attempt = due.Row.ArchiveAttempts + 1;
        var (outcome, failure) = await CopyAsync(due.Row, attempt, due.QueryBudget);
        return outcome ?? GiveUp(due.Row, failure!, attempt);
    }

    private async Task<(TerminalOutcome? Outcome, ArchiveException? Failure)> CopyAsync(ImageRequest row, int attempt, CancellationToken budget)
    {
        try
        {
            var known = ArchiveOutcomes.Known(row);
            CopiedImages copied;
            await copies.WaitAsync(budget);
            try
            {
                copied = await copier.CopyAsync(row.RequestId, known.ImageUrls, known.UrlsExpireAt, budget);
            }
            finally
            {
                copies.Release();
            }

            history.Record(row.RequestId, HistoryKinds.Archive, $"attempt {attempt}: {copied.Images.Count} image(s) copied, {copied.Images.Sum(i => i.Bytes)} bytes");
            return (ArchiveOutcomes.Copied(row, copied.Images, copied.ExpiresAt), null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || budget.IsCancellationRequested)
        {
            var failure = ex as ArchiveException ?? new ArchiveException(Describe(ex), permanent: false, ex);
            history.Record(row.RequestId, HistoryKinds.Archive, $"attempt {attempt} failed ({(failure.Permanent ? "for good" : "may pass")}): {failure.Message}");
            if (ex is not ArchiveException)
            {
                LogStoreFailed(ex, row.RequestId, attempt);
            }

            return (null, failure);
        }
    }

    private TerminalOutcome GiveUp(ImageRequest row, ArchiveException failure, int attempt)
    {
        var reason = failure.Permanent ? failure.Message : $"{failure.Message} (after {attempt} attempts)";
        LogGaveUp(row.RequestId, reason, options.Value.Required);
        return ArchiveOutcomes.NotCopied(row, reason, options.Value.Required, clock.GetUtcNow());
    }

    private static string Describe(Exception ex) => ex switch
    {
        OperationCanceledException => "the copy did not finish within its claim",
        _ => $"the store refused the copy ({ex.GetType().Name})",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: copying its images failed (attempt {Attempt}): {Reason}; next attempt at {RetryAt}")]
    private partial void LogRetry(Guid requestId, int attempt, string reason, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: its images could not be copied: {Reason}; it ends without the copy (archiving required: {Required})")]
    private partial void LogGaveUp(Guid requestId, string reason, bool required);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: storing its images failed (attempt {Attempt})")]
    private partial void LogStoreFailed(Exception exception, Guid requestId, int attempt);
}
