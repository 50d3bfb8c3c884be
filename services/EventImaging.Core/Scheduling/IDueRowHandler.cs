using EventImaging.Core.Ledger;
using EventImaging.Core.Providers;

namespace EventImaging.Core.Scheduling;

/// <summary>
/// Acts on the due rows of one state for <see cref="DueRowScheduler"/>: the submitter on received rows (a scheduled
/// retry, an attempt whose outcome is unknown, a submitter that died mid-way), the polling fallback on submitted ones.
/// </summary>
public interface IDueRowHandler
{
    RequestState State { get; }

    /// <summary>Acts on a due row before its deadline: it finishes the row, or puts it back with its next due time.</summary>
    Task SettleAsync(DueRow due, CancellationToken cancellationToken);

    /// <summary>The row's outcome at its deadline: a timeout (<see cref="Deadlines.Timeout"/>), unless the handler learns better in time.</summary>
    Task<TerminalOutcome> AtDeadlineAsync(DueRow due, CancellationToken cancellationToken);
}

/// <summary>
/// A claimed row, the provider it names, and the claim itself. <paramref name="QueryBudget"/> ends before the claim does
/// (less a margin for the write that settles the row), so no other replica can claim it while a provider call still runs.
/// </summary>
public sealed record DueRow(ImageRequest Row, string Claim, IImageProvider Provider, CancellationToken QueryBudget);
