using EventImaging.ProviderSimulator;
using EventImaging.Contracts;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>Transient and ambiguous create failures: retried from the ledger, never lost, never blindly paid twice.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class SubmitFailureTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task A_burst_of_429s_with_retry_after_still_completes_and_each_retry_waits_as_told()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Busy [sim:create-error=429;create-error-times=3;retry-after=1] {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(30));

        Assert.Equal("ImageCompleted", terminal.Type);
        var creates = env.CreatesFor(requestId.ToString("N")).OrderBy(c => c.ReceivedAt).ToArray();
        Assert.Equal([429, 429, 429, 200], creates.Select(c => c.ResponseStatus));
        for (var i = 1; i < creates.Length; i++)
        {
            Assert.True(
                creates[i].ReceivedAt - creates[i - 1].ReceivedAt >= TimeSpan.FromSeconds(1),
                $"attempt {i + 1} came {(creates[i].ReceivedAt - creates[i - 1].ReceivedAt).TotalMilliseconds} ms after the previous one; Retry-After said 1 s");
        }

        Assert.Equal(4, (await env.RowAsync(requestId))!.SubmitAttempts);
    }

    [Fact]
    public async Task An_unanswered_create_is_sent_once_more_only_after_the_wait_and_then_fails_as_unknown()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Providers:Evolink:RequestTimeout"] = "00:00:00.500",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Silent [sim:create-latency=3000] {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(30));

        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(FailureCodes.ProviderError, terminal.Text("code"));
        Assert.Contains("unknown", terminal.Text("message"), StringComparison.Ordinal);
        Assert.True(terminal.Message.GetProperty("retryable").GetBoolean());
        // Two create calls were sent (the third lease only ends the request); the simulator, whose answer was
        // aborted each time, created no task, so nothing was billed.
        var row = (await env.RowAsync(requestId))!;
        Assert.Equal(3, row.SubmitAttempts);
        Assert.Equal(2, row.UnknownOutcomes);
        // Both reached the provider and were given up before an answer.
        Assert.Equal([ReceivedCreateRequest.NeverAnswered, ReceivedCreateRequest.NeverAnswered], env.CreatesFor(requestId.ToString("N")).Select(c => c.ResponseStatus));
        // Each unanswered call (0.5 s) is followed by the 1 s callback window before anything else is sent.
        Assert.True(row.FinishedAt - row.CreatedAt >= TimeSpan.FromSeconds(3), $"finished {(row.FinishedAt - row.CreatedAt)?.TotalMilliseconds} ms after arrival");
        env.Events.SingleTerminalFor(requestId);
    }
}
