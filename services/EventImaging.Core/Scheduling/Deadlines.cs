using EventImaging.Contracts;
using EventImaging.Core.Archiving;
using EventImaging.Core.Ledger;
using EventImaging.Core.Providers;

namespace EventImaging.Core.Scheduling;

/// <summary>The deadline rule: a request with no outcome by its deadline fails as a timeout, which its caller may retry.</summary>
public static class Deadlines
{
    /// <summary>
    /// How long the last status query at the deadline may take: whatever it cannot tell in that time leaves the request to
    /// time out, so no request outlives its deadline by more than one poll.
    /// </summary>
    public static readonly TimeSpan LastLookBudget = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A request with no outcome by its deadline times out. One whose outcome is known and whose images are still being
    /// copied completes without its copy instead: the image exists (this happens only where no archive step runs).
    /// </summary>
    public static TerminalOutcome Timeout(ImageRequest row, DateTimeOffset now) => row.State == RequestState.Archiving
        ? ArchiveOutcomes.NotCopied(row, "the deadline passed before the images were copied", required: false, now)
        : TerminalOutcome.Failed(
            row,
            new ProviderFailure(FailureCodes.Timeout, null, $"No outcome from {row.Provider} before the deadline {row.Deadline:O}.", true),
            row.ProviderTaskId,
            now);

    /// <summary><paramref name="at"/>, or the deadline when that comes first: nothing is due after a request's deadline.</summary>
    public static DateTimeOffset NoLaterThanDeadline(DateTimeOffset at, DateTimeOffset deadline) => at < deadline ? at : deadline;
}
