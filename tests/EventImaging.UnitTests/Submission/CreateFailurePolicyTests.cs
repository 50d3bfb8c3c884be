using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Providers;
using EventImaging.Core.Submission;
using Microsoft.Extensions.Time.Testing;

namespace EventImaging.UnitTests.Submission;

public sealed class CreateFailurePolicyTests
{
    private static readonly SubmitterOptions Options = new()
    {
        RetryInitialInterval = TimeSpan.FromSeconds(1),
        RetryMaxInterval = TimeSpan.FromSeconds(60),
        UnknownOutcomeWait = TimeSpan.FromMinutes(2),
    };

    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));

    private ImageRequest Row(int attempts) => new()
    {
        RequestId = Guid.NewGuid(),
        Provider = "evolink",
        Model = "gpt-image-1.5",
        CommandJson = "{}",
        SubmitAttempts = attempts,
        Deadline = clock.GetUtcNow().AddMinutes(30),
    };

    private static ProviderException Failure(ProviderFailureKind kind, string code = FailureCodes.ProviderError, TimeSpan? retryAfter = null, Exception? inner = null) =>
        new(kind, new ProviderFailure(code, null, "m", kind != ProviderFailureKind.Rejected), 503, retryAfter, inner);

    [Fact]
    public void A_transient_failure_is_sent_again_after_its_backoff_and_never_before_the_providers_retry_after()
    {
        var row = Row(attempts: 3);

        var backoff = CreateFailurePolicy.Decide(Failure(ProviderFailureKind.Transient), row, clock.GetUtcNow(), random: 1.0, Options);
        var asked = CreateFailurePolicy.Decide(Failure(ProviderFailureKind.Transient, retryAfter: TimeSpan.FromSeconds(90)), row, clock.GetUtcNow(), random: 1.0, Options);

        Assert.Equal(new CreateFailureDecision(CreateFailureAction.Retry, clock.GetUtcNow().AddSeconds(4), OutcomeKnown: true), backoff);
        Assert.Equal(clock.GetUtcNow().AddSeconds(90), asked.DueAt);
    }

    [Fact]
    public void A_create_without_an_answer_waits_for_its_callback_and_stays_in_flight()
    {
        var decision = CreateFailurePolicy.Decide(Failure(ProviderFailureKind.OutcomeUnknown), Row(1), clock.GetUtcNow(), 0.5, Options);

        Assert.Equal(new CreateFailureDecision(CreateFailureAction.WaitForCallback, clock.GetUtcNow() + Options.UnknownOutcomeWait, OutcomeKnown: false), decision);
    }

    [Fact]
    public void A_create_accepted_with_an_unusable_answer_waits_for_its_callback_until_the_deadline()
    {
        var row = Row(1);

        var decision = CreateFailurePolicy.Decide(Failure(ProviderFailureKind.AcceptedUnusable), row, clock.GetUtcNow(), 0.5, Options);

        Assert.Equal(new CreateFailureDecision(CreateFailureAction.WaitForCallback, row.Deadline, OutcomeKnown: false), decision);
    }

    [Fact]
    public void A_rejected_create_fails_the_request()
    {
        var decision = CreateFailurePolicy.Decide(Failure(ProviderFailureKind.Rejected, FailureCodes.InvalidRequest), Row(1), clock.GetUtcNow(), 0.5, Options);

        Assert.Equal(CreateFailureAction.Fail, decision.Action);
    }

    [Theory]
    [InlineData(FailureCodes.InsufficientQuota, true)]
    [InlineData(FailureCodes.Unauthorized, true)]
    [InlineData(FailureCodes.InvalidRequest, false)]
    [InlineData(FailureCodes.ProviderError, false)]
    public void Only_failures_that_say_nothing_about_the_request_fail_over(string code, bool failsOver) =>
        Assert.Equal(failsOver, CreateFailurePolicy.WouldAnotherProviderServe(Failure(ProviderFailureKind.Rejected, code)));

    [Fact]
    public void An_open_circuit_fails_over() =>
        Assert.True(CreateFailurePolicy.WouldAnotherProviderServe(
            Failure(ProviderFailureKind.Transient, inner: new Polly.CircuitBreaker.BrokenCircuitException("open"))));
}
