using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventImaging.IntegrationTests.Pipeline;

namespace EventImaging.IntegrationTests.Operations;

/// <summary>Operators look one request up by id: state, timeline, task id, result or error; only with the operator key.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class OperatorLookupTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private const string Key = "operator-lookup-key";

    /// <summary>A completed request's steps; two processes write them, so a lookup waits for all of them.</summary>
    private static readonly string[] CompletedSteps = ["received", "submit", "completed", "published"];

    [Fact]
    public async Task A_completed_and_a_failed_request_show_their_timeline_to_a_caller_with_the_key_only()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?> { ["Operator:ApiKey"] = Key }, output: output);
        var completed = Guid.NewGuid();
        var failed = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = completed, prompt = $"Looked up {completed:N}" });
        await env.PublishJsonAsync(new { requestId = failed, prompt = $"Looked up [sim:fail=content_policy_violation] {failed:N}" });
        await env.Events.TerminalAsync(completed);
        await env.Events.TerminalAsync(failed);

        JsonElement view = default;
        await Eventually.UntilAsync(
            async () =>
            {
                view = await (await env.LookUpAsync(completed, Key)).Content.ReadFromJsonAsync<JsonElement>();
                return Steps(view) is var steps && CompletedSteps.All(steps.Contains);
            },
            TimeSpan.FromSeconds(10),
            "the completed request's every step to be in its timeline (two processes write them)");
        // The callback can overtake the submitter's record of its own create: the order of those two is the race's.
        // The callback that ended the request is its "completed" step, not a "callback" step besides.
        Assert.Equal(["completed", "published", "received", "submit"], Steps(view).Order(StringComparer.Ordinal));
        Assert.Equal(["received", "completed", "published"], Steps(view).Where(step => step != "submit"));
        var times = view.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.StartsWith("via callback, task task-", Detail(view, "completed"), StringComparison.Ordinal);
        Assert.StartsWith("attempt 1 to evolink gpt-image-1.5: accepted as task task-", Detail(view, "submit"), StringComparison.Ordinal);
        Assert.Equal("ImageCompleted", Detail(view, "published"));
        var request = view.GetProperty("request");
        Assert.Equal("completed", request.GetProperty("state").GetString());
        Assert.StartsWith("task-", request.GetProperty("providerTaskId").GetString(), StringComparison.Ordinal);
        Assert.Single(request.GetProperty("imageUrls").EnumerateArray());
        Assert.Equal(1, view.GetProperty("submitAttempts").GetInt32());
        Assert.Equal(32, view.GetProperty("traceId").GetString()!.Length);

        JsonElement failure = default;
        await Eventually.UntilAsync(
            async () =>
            {
                failure = await (await env.LookUpAsync(failed, Key)).Content.ReadFromJsonAsync<JsonElement>();
                return Steps(failure).Contains("failed");
            },
            TimeSpan.FromSeconds(10),
            "the failed request's outcome to be in its timeline");
        Assert.Matches("^via callback, task task-[^:]+: content_policy_violation: ", Detail(failure, "failed"));
        Assert.DoesNotContain("callback", Steps(failure));
        Assert.Equal("content_policy_violation", failure.GetProperty("request").GetProperty("error").GetProperty("code").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await env.LookUpAsync(Guid.NewGuid(), Key)).StatusCode);
        var wrongKey = await env.LookUpAsync(completed, Key + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal("Bearer", wrongKey.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await env.LookUpAsync(completed, null)).StatusCode);
    }

    [Fact]
    public async Task Without_an_operator_key_the_lookup_does_not_exist()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        Assert.Equal(HttpStatusCode.NotFound, (await env.LookUpAsync(Guid.NewGuid(), "anything")).StatusCode);
    }

    private static string Detail(JsonElement view, string step) =>
        view.GetProperty("timeline").EnumerateArray().Single(e => e.GetProperty("step").GetString() == step).GetProperty("detail").GetString()!;

    private static List<string> Steps(JsonElement view) =>
        [.. view.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("step").GetString()!)];
}
