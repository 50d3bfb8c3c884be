using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Providers;
using EventImaging.Core.Scheduling;

namespace EventImaging.Core.Submission;

/// <summary>What a failed create call leads to.</summary>
public enum CreateFailureAction
{
    /// <summary>Nothing was created: send it again at <see cref="CreateFailureDecision.DueAt"/>.</summary>
    Retry,

    /// <summary>
    /// The provider may have created (and billed) the task: never re-sent at once. Its callback, bound to this request
    /// rather than to a task id, can still finish the request until <see cref="CreateFailureDecision.DueAt"/>.
    /// </summary>
    WaitForCallback,

    /// <summary>The provider refused the request itself: it fails.</summary>
    Fail,
}

/// <param name="OutcomeKnown">Whether the provider answered, so that the attempt no longer counts as in flight.</param>
public readonly record struct CreateFailureDecision(CreateFailureAction Action, DateTimeOffset DueAt, bool OutcomeKnown);

/// <summary>The failure policy of a create attempt, as a pure function of the failure, the row and the clock.</summary>
public static class CreateFailurePolicy
{
    public static CreateFailureDecision Decide(ProviderException failure, ImageRequest row, DateTimeOffset now, double random, SubmitterOptions options) =>
        failure.Kind switch
        {
            ProviderFailureKind.Transient => new(
                CreateFailureAction.Retry,
                RetrySchedule.Next(now, row.SubmitAttempts, failure.RetryAfter, random, options.RetryInitialInterval, options.RetryMaxInterval),
                OutcomeKnown: true),
            ProviderFailureKind.OutcomeUnknown => new(CreateFailureAction.WaitForCallback, now + options.UnknownOutcomeWait, OutcomeKnown: false),
            // Only the task's callback, bound to this request, can finish it now; if none comes, the deadline does.
            ProviderFailureKind.AcceptedUnusable => new(CreateFailureAction.WaitForCallback, row.Deadline, OutcomeKnown: false),
            _ => new(CreateFailureAction.Fail, now, OutcomeKnown: true),
        };

    /// <summary>Failures that say nothing about the request itself: another provider may well serve it.</summary>
    public static bool WouldAnotherProviderServe(ProviderException failure) =>
        failure.Failure.Code is FailureCodes.InsufficientQuota or FailureCodes.Unauthorized
        || failure.InnerException is Polly.CircuitBreaker.BrokenCircuitException;

    /// <summary>
    /// The failure that ends a request whose create calls ended twice without an answer while no callback came: the outcome
    /// is unknown, so it is not sent a third time (each may have been billed).
    /// </summary>
    public static ProviderFailure TwoUnknownOutcomes(string provider) => new(
        FailureCodes.ProviderError,
        null,
        $"Two create calls to {provider} ended without an answer and no callback came; the outcome is unknown, so the request is not sent a third time.",
        true);
}
