using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.IntegrationTests.Pipeline;

namespace EventImaging.IntegrationTests.Operations;

/// <summary>
/// Cancelling a request, by a <c>CancelImage</c> command or through the operator API: exactly one <c>ImageFailed</c>
/// <c>cancelled</c>, polling stops, late news changes nothing, and a cancel racing a callback still ends each request once.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class CancelTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private const string Key = "cancel-operator-key";

    [Fact]
    public async Task A_cancel_command_ends_a_running_request_once_polling_stops_and_a_late_callback_changes_nothing()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            // Polled at once and often, so a poller that kept polling a cancelled request would be seen.
            ["Polling:FirstPollGrace"] = "00:00:00",
        }, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Never done [sim:never-finish] {requestId:N}", metadata = new { order = "7" } });
        await env.SubmittedAsync(requestId);
        var task = Assert.Single(env.CreatesFor(requestId.ToString("N"))).TaskId!;
        await Eventually.UntilAsync(() => Task.FromResult(env.Simulator.GetStatusQueryCount(task) > 0), TimeSpan.FromSeconds(10), "the task to be polled");

        await env.PublishJsonAsync(new { requestId, reason = "the customer changed their mind" }, nameof(CancelImage));

        var terminal = await env.Events.TerminalAsync(requestId);
        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(FailureCodes.Cancelled, terminal.Text("code"));
        Assert.Equal("Cancelled by the caller: the customer changed their mind", terminal.Text("message"));
        Assert.False(terminal.Message.GetProperty("retryable").GetBoolean());
        Assert.Equal(task, terminal.Text("providerTaskId"));
        Assert.Equal("7", terminal.Message.GetProperty("metadata").GetProperty("order").GetString());
        Assert.Equal(requestId, terminal.MessageId);
        await env.MarkedPublishedAsync(requestId);
        var row = (await env.RowAsync(requestId))!;
        Assert.Equal(RequestState.Failed, row.State);
        Assert.Null(row.NextActionAt);

        // The Submitter's history writer may lag; the stale callback must come after the entries it writes.
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(requestId)).Any(h => h.Kind == HistoryKinds.Failed),
            TimeSpan.FromSeconds(10),
            "the cancel's transition to be in the history");

        // The provider finishes after all: its callback is answered and changes nothing.
        var late = $$"""{"id":"{{task}}","status":"completed","progress":100,"results":["https://files.example/late.png"]}""";
        Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", env.CallbackTokenOf(requestId), late)).StatusCode);
        var queries = env.Simulator.GetStatusQueryCount(task);
        await Eventually.NeverAsync(
            () => env.Events.TerminalFor(requestId).Count > 1 || env.Simulator.GetStatusQueryCount(task) > queries,
            TimeSpan.FromSeconds(2),
            "a second terminal event, or a status query after the cancel");
        Assert.Equal(RequestState.Failed, (await env.RowAsync(requestId))!.State);

        // The history tells it in order: the cancel, the transition it made, then the stale callback.
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(requestId)).Any(h => h.Kind == HistoryKinds.Callback && h.Detail.StartsWith("stale", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10),
            "the late callback to be in the history");
        var history = await env.HistoryAsync(requestId);
        Assert.Contains(history, h => h.Kind == HistoryKinds.Poll && h.Detail.StartsWith("query 1: Running", StringComparison.Ordinal));
        var kinds = history.Select(h => h.Kind).Where(k => k != HistoryKinds.Poll).ToList();
        // The publish is the row's mark, not an entry: the operator's timeline reads it from there.
        Assert.Equal([HistoryKinds.Received, HistoryKinds.Submit, HistoryKinds.Cancel, HistoryKinds.Failed, HistoryKinds.Callback], kinds);
        await Eventually.UntilAsync(
            async () => (await env.RowAsync(requestId))!.EventPublishedAt is not null,
            TimeSpan.FromSeconds(10),
            "the cancel's event to be marked published");
    }

    [Fact]
    public async Task Cancelling_a_finished_or_unknown_request_changes_nothing_and_a_cancel_without_a_request_id_is_dropped()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?> { ["Operator:ApiKey"] = Key }, output: output);
        var done = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = done, prompt = $"Done before the cancel {done:N}" });
        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(done)).Type);
        await env.MarkedPublishedAsync(done);

        await env.PublishJsonAsync(new { requestId = done }, nameof(CancelImage));
        await env.PublishJsonAsync(new { requestId = Guid.Empty, reason = "no id" }, nameof(CancelImage));
        await env.PublishJsonAsync(new { requestId = Guid.NewGuid() }, nameof(CancelImage));

        // The command's no-op is in the history; the operator API says what it did.
        await Eventually.UntilAsync(
            async () => (await env.HistoryAsync(done)).Any(h => h.Kind == HistoryKinds.Cancel),
            TimeSpan.FromSeconds(10),
            "the cancel of a finished request to be recorded");
        Assert.Contains("nothing changes", (await env.HistoryAsync(done)).Single(h => h.Kind == HistoryKinds.Cancel).Detail, StringComparison.Ordinal);
        var finished = await env.OperatorCancelAsync(done, Key);
        Assert.Equal(HttpStatusCode.Conflict, finished.StatusCode);
        Assert.Contains("completed", (await finished.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await env.OperatorCancelAsync(Guid.NewGuid(), Key)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await env.OperatorCancelAsync(done, Key + "x")).StatusCode);

        Assert.Equal(RequestState.Completed, (await env.RowAsync(done))!.State);
        env.Events.SingleTerminalFor(done);
        Assert.Equal(0u, await env.ErrorQueueDepthAsync("cancel-image_error"));
    }

    [Fact]
    public async Task Cancels_racing_callbacks_end_each_request_with_exactly_one_terminal_event()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?> { ["Operator:ApiKey"] = Key }, output: output);
        var ids = Enumerable.Range(0, 24).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await env.PublishJsonAsync(new { requestId = id, prompt = $"Raced [sim:never-finish] {id:N}" });
        }

        foreach (var id in ids)
        {
            await env.SubmittedAsync(id);
        }

        // For every request at once: the provider's completed callback and an operator's cancel.
        var answers = await Task.WhenAll(ids.Select(async id =>
        {
            var task = Assert.Single(env.CreatesFor(id.ToString("N"))).TaskId!;
            var completed = $$"""{"id":"{{task}}","status":"completed","progress":100,"results":["https://files.example/{{task}}.png"]}""";
            var token = env.CallbackTokenOf(id);
            var callback = env.PostCallbackAsync("evolink", token, completed);
            var cancel = env.OperatorCancelAsync(id, Key, "raced");
            return (Callback: (await callback).StatusCode, Cancel: (await cancel).StatusCode);
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Callback));
        Assert.All(answers, a => Assert.Contains(a.Cancel, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        foreach (var id in ids)
        {
            await env.Events.TerminalAsync(id);
        }

        await Eventually.NeverAsync(
            () => ids.Any(id => env.Events.TerminalFor(id).Select(e => (e.Type, e.MessageId)).Distinct().Count() > 1),
            TimeSpan.FromSeconds(2),
            "two different terminal events for one request");
        var cancelled = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            var terminal = env.Events.TerminalFor(ids[i])[0];
            var row = (await env.RowAsync(ids[i]))!;
            Assert.Equal(terminal.Type == "ImageCompleted" ? RequestState.Completed : RequestState.Failed, row.State);
            // The operator's answer says who won: 200 only when the cancel made the transition.
            Assert.Equal(answers[i].Cancel == HttpStatusCode.OK, terminal.Type == "ImageFailed");
            cancelled += terminal.Type == "ImageFailed" ? 1 : 0;
        }

        output.WriteLine($"{cancelled} of {ids.Count} requests were cancelled, {ids.Count - cancelled} completed by their callback");
    }
}
