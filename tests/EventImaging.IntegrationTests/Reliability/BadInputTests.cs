using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Scheduling;
using EventImaging.IntegrationTests.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace EventImaging.IntegrationTests.Reliability;

/// <summary>
/// Whatever a caller publishes, every command whose requestId can be read gets exactly one small terminal event, and
/// bad commands never stop the pipeline from serving good ones.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class BadInputTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>What any event may weigh on the wire, envelope included: a few KB, whatever the command held.</summary>
    public const int MaxEventBytes = 8 * 1024;

    [Fact]
    public async Task Invalid_commands_never_stall_the_polling_fallback()
    {
        // A page of two: before the fix, two born-terminal rows stayed due forever and filled every page.
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:BatchSize"] = "2",
        }, output: output);
        var invalid = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in invalid)
        {
            await env.PublishJsonAsync(new { requestId = id, prompt = "" });
        }

        foreach (var id in invalid)
        {
            Assert.Equal("ImageFailed", (await env.Events.TerminalAsync(id)).Type);
            Assert.Null((await env.RowAsync(id))!.NextActionAt);
        }

        var valid = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in valid)
        {
            await env.PublishJsonAsync(new { requestId = id, prompt = $"After the bad ones [sim:no-callback] {id:N}" });
        }

        foreach (var id in valid)
        {
            var terminal = await env.Events.TerminalAsync(id, TimeSpan.FromSeconds(30));
            Assert.Equal("ImageCompleted", terminal.Type);
            Assert.Equal(CompletionPaths.Poll, terminal.Text("completedVia"));
        }
    }

    [Fact]
    public async Task Rows_leased_by_another_replica_do_not_hide_the_due_rows_behind_them()
    {
        // No submitter: this test is the only poller.
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, inProcessSubmitter: false, output: output);
        var now = DateTimeOffset.UtcNow;
        var first = await InsertDueAsync(env, 3, now.AddSeconds(-20));
        var behind = await InsertDueAsync(env, 2, now.AddSeconds(-10));

        var other = await WithDueRowsAsync(env, l => l.ClaimAsync("other-replica", 3, TimeSpan.FromMinutes(1), CancellationToken.None));
        var mine = await WithDueRowsAsync(env, l => l.ClaimAsync("this-replica", 2, TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.Equal(first.Order(), other.Select(r => r.RequestId).Order());
        Assert.Equal(behind.Order(), mine.Select(r => r.RequestId).Order());
    }

    [Fact]
    public async Task A_deadline_with_a_non_utc_offset_is_honoured()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var requestId = Guid.NewGuid();
        var deadline = DateTimeOffset.UtcNow.AddMinutes(10).ToOffset(TimeSpan.FromHours(2));
        await env.PublishRawAsync($$"""{"requestId":"{{requestId}}","prompt":"Offset deadline","deadline":"{{deadline:yyyy-MM-ddTHH:mm:ss.fffzzz}}"}""");

        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
        var row = (await env.RowAsync(requestId))!;
        Assert.Equal(deadline.UtcDateTime, row.Deadline.UtcDateTime, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task A_deadline_past_the_maximum_is_refused_at_once_and_never_sent()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var requestId = Guid.NewGuid();
        await env.PublishRawAsync($$"""{"requestId":"{{requestId}}","prompt":"Far deadline {{requestId:N}}","deadline":"9999-12-31T23:30:00Z"}""");

        var failed = await env.Events.TerminalAsync(requestId);
        Assert.Equal("ImageFailed", failed.Type);
        Assert.Equal(FailureCodes.InvalidRequest, failed.Text("code"));
        Assert.Contains("deadline", failed.Text("message"), StringComparison.Ordinal);
        Assert.Contains("Requests:MaxDeadline", failed.Text("message"), StringComparison.Ordinal);
        Assert.Empty(env.CreatesFor(requestId.ToString("N")));
    }

    [Theory]
    [InlineData("provider")]
    [InlineData("model")]
    public async Task Overlong_names_get_one_bounded_ImageFailed_and_no_new_metric_series(string field)
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var requestId = Guid.NewGuid();
        var name = new string('x', 5000);
        await env.PublishRawAsync($$"""{"requestId":"{{requestId}}","prompt":"Long name","{{field}}":"{{name}}"}""");

        var failed = await env.Events.TerminalAsync(requestId);
        Assert.Equal("ImageFailed", failed.Type);
        Assert.Equal(FailureCodes.InvalidRequest, failed.Text("code"));
        Assert.Contains(field, failed.Text("message"), StringComparison.Ordinal);
        Assert.InRange(failed.BodyBytes, 1, MaxEventBytes);
        var row = (await env.RowAsync(requestId))!;
        Assert.InRange(row.Provider.Length, 1, LedgerDbContext.ProviderLength);
        Assert.InRange(row.Model.Length, 1, LedgerDbContext.ModelLength);
    }

    [Theory]
    [InlineData("imageUrls", "\"https://images.example.com/a.png\"")]
    [InlineData("metadata", "{\"n\":1}")]
    [InlineData("prompt", "42")]
    [InlineData("deadline", "\"tomorrow\"")]
    [InlineData("size", "{}")]
    [InlineData("provider", "[\"evolink\"]")]
    [InlineData("imageUrls", "[\"https://images.example.com/a.png\", 7]")]
    public async Task A_field_of_the_wrong_json_type_gets_an_ImageFailed_naming_it(string field, string json)
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var requestId = Guid.NewGuid();
        var prompt = field == "prompt" ? "" : "\"Wrong type\",";
        await env.PublishRawAsync(field == "prompt"
            ? $$"""{"requestId":"{{requestId}}","prompt":{{json}}}"""
            : $$"""{"requestId":"{{requestId}}","prompt":{{prompt}}"{{field}}":{{json}}}""");

        var failed = await env.Events.TerminalAsync(requestId);
        Assert.Equal("ImageFailed", failed.Type);
        Assert.Equal(FailureCodes.InvalidRequest, failed.Text("code"));
        Assert.Contains($"{field} must be", failed.Text("message"), StringComparison.Ordinal);
        Assert.Equal(0u, await env.ErrorQueueDepthAsync());
    }

    [Fact]
    public async Task Thousands_of_bad_image_urls_and_oversized_metadata_give_one_small_ImageFailed()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var requestId = Guid.NewGuid();
        var urls = Enumerable.Range(0, 5000).Select(i => $"http://host-{i}.example.com/{i}.png").ToArray();
        var metadata = Enumerable.Range(0, 100).ToDictionary(i => $"key-{i}", i => new string('v', 500));
        await env.PublishJsonAsync(new { requestId, prompt = "Many URLs", imageUrls = urls, metadata });

        var failed = await env.Events.TerminalAsync(requestId);
        Assert.Equal("ImageFailed", failed.Type);
        Assert.InRange(failed.BodyBytes, 1, MaxEventBytes);
        Assert.Contains("more errors", failed.Text("message"), StringComparison.Ordinal);
        Assert.Contains("metadata must", failed.Text("message"), StringComparison.Ordinal);
        // Invalid metadata is not echoed.
        Assert.True(!failed.Message.TryGetProperty("metadata", out var echoed) || echoed.ValueKind == JsonValueKind.Null);
        Assert.InRange((await env.RowAsync(requestId))!.CommandJson.Length, 1, 200);
    }

    [Fact]
    public async Task A_command_without_a_request_id_is_answered_with_one_message_id_however_often_it_comes()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        var marker = Guid.NewGuid().ToString("N");
        var body = $$"""{"prompt":"No id {{marker}}"}""";
        await env.PublishRawAsync(body);
        await env.PublishRawAsync(body);

        await Eventually.UntilAsync(
            () => Task.FromResult(AnswersWithout(env).Count(e => e.Message.GetProperty("message").GetString()!.Contains("requestId", StringComparison.Ordinal)) >= 2),
            TimeSpan.FromSeconds(15),
            "both copies of the command to be answered");
        var answers = AnswersWithout(env);
        Assert.All(answers, a => Assert.Equal(FailureCodes.InvalidRequest, a.Text("code")));
        Assert.Single(answers.Select(a => a.MessageId).Distinct());
    }

    [Fact]
    public async Task A_body_with_no_readable_request_id_lands_once_in_the_error_queue_and_good_commands_still_pass()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        string[] unreadable = ["not json at all", "[1,2,3]", "\"a string\"", """{"requestId":"not-a-guid","prompt":"x"}""", """{"requestId":42}"""];
        foreach (var body in unreadable)
        {
            await env.PublishRawAsync(body);
        }

        var good = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = good, prompt = "Still served" });
        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(good)).Type);
        await Eventually.UntilAsync(
            async () => await env.ErrorQueueDepthAsync() == (uint)unreadable.Length,
            TimeSpan.FromSeconds(15),
            $"the {unreadable.Length} unreadable commands to reach the error queue");
        Assert.DoesNotContain(env.Events.All, e => e.Type == "ImageFailed");
    }

    private static IReadOnlyList<CollectedEvent> AnswersWithout(PipelineEnvironment env) =>
        [.. env.Events.All.Where(e => e.Type == "ImageFailed" && e.RequestId == Guid.Empty)];

    private static async Task<Guid[]> InsertDueAsync(PipelineEnvironment env, int count, DateTimeOffset dueAt)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            Assert.True(await WithLedgerAsync(env, ledger => ledger.TryInsertAsync(
                new ImageRequest
                {
                    RequestId = id,
                    Provider = "evolink",
                    Model = "gpt-image-1.5",
                    State = RequestState.Received,
                    CommandJson = $$"""{"requestId":"{{id}}","prompt":"p"}""",
                    Deadline = DateTimeOffset.UtcNow.AddMinutes(5),
                    NextActionAt = dueAt,
                },
                CancellationToken.None)));
        }

        return ids;
    }

    private static Task<T> WithLedgerAsync<T>(PipelineEnvironment env, Func<RequestRows, Task<T>> action) =>
        action(env.Receiver.Services.GetRequiredService<RequestRows>());

    private static Task<T> WithDueRowsAsync<T>(PipelineEnvironment env, Func<DueRows, Task<T>> action) =>
        action(env.Receiver.Services.GetRequiredService<DueRows>());
}
