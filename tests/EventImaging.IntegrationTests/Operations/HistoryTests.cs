using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventImaging.Core.History;
using EventImaging.IntegrationTests.Pipeline;

namespace EventImaging.IntegrationTests.Operations;

/// <summary>A request's history is bounded: a flood of callbacks stops being recorded, the outcome never does, and the lookup shows its publish.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class HistoryTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Limit = 12;

    [Fact]
    public async Task Callbacks_past_the_limit_are_not_recorded_but_the_outcome_is_and_the_lookup_shows_its_publish()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Ledger:HistoryLimit"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Operator:ApiKey"] = "history-key",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Reported on too often [sim:never-finish] {requestId:N}" });
        await env.SubmittedAsync(requestId);
        var task = Assert.Single(env.CreatesFor(requestId.ToString("N"))).TaskId!;
        var token = env.CallbackTokenOf(requestId);

        // The limit is counted before each batch the writer takes, so a batch may pass it: the second flood starts
        // only once the first has reached it, and then none of it may be recorded.
        await PostProgressAsync(0, 15);
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(requestId)).Count >= Limit,
            TimeSpan.FromSeconds(10),
            "the history to reach its limit");
        await PostProgressAsync(50, 15);

        var completed = $$"""{"id":"{{task}}","status":"completed","progress":100,"results":["https://files.example/done.png"]}""";
        Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", token, completed)).StatusCode);
        await env.Events.TerminalAsync(requestId);

        // Entries are written in the order they were recorded: once the transition is there, every callback before it
        // was written or left out. Its publish is the row's mark, not an entry.
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(requestId)).Any(h => h.Kind == HistoryKinds.Completed),
            TimeSpan.FromSeconds(10),
            "the transition to be recorded");
        var history = await env.HistoryAsync(requestId);
        output.WriteLine($"{history.Count} entries kept of {2 + 15 + 15 + 1} recorded");
        Assert.True(history.Count > Limit, $"{history.Count} entries: the limit, then the outcome");
        Assert.DoesNotContain(history, h => h.Kind == HistoryKinds.Callback && Enumerable.Range(50, 15).Any(p => h.Detail.EndsWith($", {p} %", StringComparison.Ordinal)));
        Assert.Equal(HistoryKinds.Completed, history[^1].Kind);
        Assert.DoesNotContain(history, h => h.Kind == HistoryKinds.Published);

        // The publish is the row's mark: the operator's timeline shows it right after the outcome.
        await Eventually.UntilAsync(
            async () => (await env.RowAsync(requestId))!.EventPublishedAt is not null,
            TimeSpan.FromSeconds(10),
            "the event to be marked published");
        var view = await (await env.LookUpAsync(requestId, "history-key")).Content.ReadFromJsonAsync<JsonElement>();
        var steps = view.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("step").GetString()).ToList();
        Assert.Equal([HistoryKinds.Completed, HistoryKinds.Published], steps.TakeLast(2));
        Assert.Contains(history, h => h.Kind == HistoryKinds.Callback && h.Detail.StartsWith("progress", StringComparison.Ordinal));

        async Task PostProgressAsync(int first, int count)
        {
            for (var progress = first; progress < first + count; progress++)
            {
                var body = $$"""{"id":"{{task}}","status":"processing","progress":{{progress}}}""";
                Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", token, body)).StatusCode);
            }
        }
    }
}
