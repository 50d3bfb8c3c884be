using System.Net;
using EventImaging.Core.History;
using EventImaging.IntegrationTests.Pipeline;

namespace EventImaging.IntegrationTests.Operations;

/// <summary>A request's history is bounded: a flood of duplicate callbacks stops being recorded, what ends it never does.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class HistoryTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Limit = 12;

    [Fact]
    public async Task Duplicate_callbacks_past_the_limit_are_not_recorded_but_a_later_cancel_is()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Ledger:HistoryLimit"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Operator:ApiKey"] = "history-key",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Called back too often {requestId:N}" });
        await env.Events.TerminalAsync(requestId);
        await env.MarkedPublishedAsync(requestId);
        var task = Assert.Single(env.CreatesFor(requestId.ToString("N"))).TaskId!;
        var completed = $$"""{"id":"{{task}}","status":"completed","progress":100,"results":["https://files.example/again.png"]}""";
        var token = env.CallbackTokenOf(requestId);

        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", token, completed)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Conflict, (await env.OperatorCancelAsync(requestId, "history-key")).StatusCode);

        // Entries are written in the order they were recorded: once the cancel is there, every duplicate before it was written or left out.
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(requestId)).Any(h => h.Kind == HistoryKinds.Cancel),
            TimeSpan.FromSeconds(10),
            "the cancel to be recorded");
        var history = await env.HistoryAsync(requestId);
        output.WriteLine($"{history.Count} entries kept of {5 + 40 + 1} recorded");
        Assert.InRange(history.Count, Limit, Limit + 8);
        Assert.Equal(HistoryKinds.Cancel, history[^1].Kind);
        Assert.Contains(history, h => h.Kind == HistoryKinds.Callback && h.Detail.StartsWith("duplicate", StringComparison.Ordinal));
        Assert.Equal([HistoryKinds.Completed, HistoryKinds.Published], history.Select(h => h.Kind).Where(HistoryKinds.AlwaysKept.Contains).Where(k => k != HistoryKinds.Cancel));
    }
}
