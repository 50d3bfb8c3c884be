using System.Net;
using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using RabbitMQ.Client;
using EventImaging.IntegrationTests.Infrastructure;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>GenerateImage → evolink (simulator) → callback → exactly one terminal event, on real RabbitMQ and PostgreSQL.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class CorePipelineTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private PipelineEnvironment env = null!;

    public async Task InitializeAsync() => env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);

    public async Task DisposeAsync() => await env.DisposeAsync();

    [Fact]
    public async Task Plain_json_command_completes_with_one_ImageCompleted_whose_png_downloads()
    {
        var requestId = Guid.NewGuid();
        var marker = requestId.ToString("N");
        await env.PublishJsonAsync(new
        {
            requestId,
            prompt = $"A lighthouse at dusk {marker}",
            size = "1536x1024",
            metadata = new Dictionary<string, string> { ["order"] = "42" },
        });

        var terminal = await env.Events.TerminalAsync(requestId);

        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(requestId, terminal.MessageId);
        Assert.Equal("evolink", terminal.Text("provider"));
        Assert.Equal("gpt-image-1.5", terminal.Text("model"));
        Assert.Equal("callback", terminal.Text("completedVia"));
        Assert.Equal("42", terminal.Message.GetProperty("metadata").GetProperty("order").GetString());
        Assert.Equal(JsonValueKind.Number, terminal.Message.GetProperty("creditsUsed").ValueKind);
        var url = Assert.Single(terminal.Message.GetProperty("imageUrls").EnumerateArray()).GetString()!;
        var png = await env.Http.GetByteArrayAsync(new Uri(url));
        Assert.Equal(PngSignature, png[..8]);

        var create = Assert.Single(env.CreatesFor(marker));
        var body = create.Body!.Value;
        Assert.Equal("gpt-image-1.5", body.GetProperty("model").GetString());
        Assert.Equal("1536x1024", body.GetProperty("size").GetString());
        Assert.Equal("high", body.GetProperty("quality").GetString());
        Assert.Equal(1, body.GetProperty("n").GetInt32());
        Assert.StartsWith($"{env.ReceiverUrl.AbsoluteUri}callbacks/evolink/", body.GetProperty("callback_url").GetString(), StringComparison.Ordinal);

        await env.Events.SubmittedAsync(requestId);
        var submitted = Assert.Single(env.Events.For(requestId), e => e.Type == "ImageSubmitted");
        Assert.Equal(create.TaskId, submitted.Text("providerTaskId"));
        Assert.Equal(create.TaskId, terminal.Text("providerTaskId"));

        await env.MarkedPublishedAsync(requestId);
        Assert.Equal(RequestState.Completed, (await env.RowAsync(requestId))!.State);
        env.Events.SingleTerminalFor(requestId);
    }

    [Fact]
    public async Task MassTransit_command_for_the_beta_model_by_its_old_name_completes_as_beta()
    {
        var requestId = Guid.NewGuid();
        await env.PublishAsync(new GenerateImage { RequestId = requestId, Prompt = $"A fox {requestId:N}", Model = "gpt-image-1.5-lite", Quality = "auto" });

        var terminal = await env.Events.TerminalAsync(requestId);

        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal("gpt-image-1.5-beta", terminal.Text("model"));
        var body = Assert.Single(env.CreatesFor(requestId.ToString("N"))).Body!.Value;
        Assert.Equal("gpt-image-1.5-beta", body.GetProperty("model").GetString());
        Assert.Equal("auto", body.GetProperty("quality").GetString());
    }

    [Fact]
    public async Task Publishing_the_same_request_twice_costs_one_generation_and_one_event()
    {
        var requestId = Guid.NewGuid();
        var command = new { requestId, prompt = $"A duplicate {requestId:N}" };
        await env.PublishJsonAsync(command);
        await env.PublishJsonAsync(command);

        await env.Events.TerminalAsync(requestId);
        await env.MarkedPublishedAsync(requestId);
        await env.PublishJsonAsync(command);
        await env.Events.SubmittedAsync(requestId);

        // A fourth, marked message proves the third was consumed before we count.
        var probe = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = probe, prompt = "" });
        await env.Events.TerminalAsync(probe);

        Assert.Single(env.CreatesFor(requestId.ToString("N")));
        env.Events.SingleTerminalFor(requestId);
    }

    public static TheoryData<string, string> InvalidCommands => new()
    {
        { """{"requestId":"%ID%","prompt":""}""", "prompt" },
        { """{"requestId":"%ID%"}""", "prompt" },
        { """{"requestId":"%ID%","prompt":"x %ID%","size":"800x600"}""", "size '800x600'" },
        { """{"requestId":"%ID%","prompt":"x %ID%","imageUrls":[%17%]}""", "imageUrls holds 17" },
        { """{"requestId":"%ID%","prompt":"x %ID%","imageUrls":["https://192.168.1.10/cat.png"]}""", "imageUrls entry" },
        { """{"requestId":"%ID%","prompt":"x %ID%","provider":"nobody"}""", "provider 'nobody'" },
    };

    [Theory]
    [MemberData(nameof(InvalidCommands))]
    public async Task Invalid_command_gets_one_ImageFailed_naming_the_field_and_no_provider_call(string json, string named)
    {
        var requestId = Guid.NewGuid();
        var urls = string.Join(',', Enumerable.Range(0, 17).Select(i => $"\"https://images.example.com/{i}.png\""));
        var body = json.Replace("%ID%", requestId.ToString(), StringComparison.Ordinal).Replace("%17%", urls, StringComparison.Ordinal);
        await env.PublishJsonAsync(JsonDocument.Parse(body).RootElement);

        var terminal = await env.Events.TerminalAsync(requestId);

        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(FailureCodes.InvalidRequest, terminal.Text("code"));
        Assert.Contains(named, terminal.Text("message"), StringComparison.Ordinal);
        Assert.False(terminal.Message.GetProperty("retryable").GetBoolean());
        Assert.Empty(env.CreatesFor(requestId.ToString()));
        Assert.Empty(env.CreatesFor(requestId.ToString("N")));
        env.Events.SingleTerminalFor(requestId);
        Assert.Equal(RequestState.Failed, (await env.RowAsync(requestId))!.State);
    }

    [Fact]
    public async Task A_body_that_is_not_json_goes_to_the_error_queue_once_and_the_submitter_keeps_working()
    {
        await using var connection = await new ConnectionFactory { Uri = env.Broker }.CreateConnectionAsync();
        await using (var channel = await connection.CreateChannelAsync())
        {
            var properties = new BasicProperties { ContentType = "application/json" };
            await channel.BasicPublishAsync("EventImaging.Contracts:GenerateImage", "", mandatory: false, properties, "this is not json"u8.ToArray());
        }

        // A get on a queue that does not exist yet closes its channel: each attempt uses a fresh one.
        async Task<BasicGetResult?> GetErrorAsync()
        {
            await using var channel = await connection.CreateChannelAsync();
            return await channel.BasicGetAsync("generate-image_error", autoAck: true);
        }

        BasicGetResult? poisoned = null;
        await Eventually.UntilAsync(
            async () => (poisoned = await GetErrorAsync()) is not null,
            TimeSpan.FromSeconds(15),
            "the unreadable body to reach generate-image_error");
        Assert.Equal("this is not json", System.Text.Encoding.UTF8.GetString(poisoned!.Body.Span));
        Assert.Null(await GetErrorAsync());

        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"After the poison {requestId:N}" });
        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
    }

    [Fact]
    public async Task Command_without_a_request_id_still_gets_an_ImageFailed_saying_so()
    {
        await env.PublishJsonAsync(new { prompt = "No id" });

        var terminal = await env.Events.TerminalAsync(Guid.Empty);

        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Contains("requestId", terminal.Text("message"), StringComparison.Ordinal);
        Assert.NotEqual(Guid.Empty, terminal.MessageId);
        Assert.Empty(env.Simulator.GetCreateRequests());
    }

    [Theory]
    [InlineData(402, FailureCodes.InsufficientQuota, "insufficient_quota")]
    [InlineData(401, FailureCodes.Unauthorized, "unauthorized")]
    [InlineData(400, FailureCodes.InvalidRequest, "invalid_request")]
    public async Task Provider_rejection_becomes_one_ImageFailed_with_the_mapped_code(int status, string code, string providerCode)
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Rejected [sim:create-error={status}] {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId);

        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(code, terminal.Text("code"));
        Assert.Equal(providerCode, terminal.Text("providerCode"));
        Assert.Single(env.CreatesFor(requestId.ToString("N")));
        Assert.DoesNotContain(env.Events.For(requestId), e => e.Type == "ImageSubmitted");
    }

    [Fact]
    public async Task Transient_create_failure_is_retried_and_then_completes()
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Busy [sim:create-error=503;create-error-times=2] {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId);

        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(3, env.CreatesFor(requestId.ToString("N")).Count);
        Assert.Equal(3, (await env.RowAsync(requestId))!.SubmitAttempts);
    }

    [Fact]
    public async Task Failed_task_reaches_subscribers_with_the_provider_code()
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Refused [sim:fail=content_policy_violation] {requestId:N}" });

        var terminal = await env.Events.TerminalAsync(requestId);

        Assert.Equal("ImageFailed", terminal.Type);
        Assert.Equal(FailureCodes.ContentPolicyViolation, terminal.Text("code"));
        Assert.Equal("content_policy_violation", terminal.Text("providerCode"));
        Assert.False(terminal.Message.GetProperty("retryable").GetBoolean());
        Assert.Equal(requestId, terminal.MessageId);
    }

    [Fact]
    public async Task Callback_delivered_three_times_publishes_one_event()
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Thrice [sim:callbacks=3] {requestId:N}" });

        await env.Events.TerminalAsync(requestId);
        var taskId = Assert.Single(env.CreatesFor(requestId.ToString("N"))).TaskId!;
        await Eventually.UntilAsync(
            () => Task.FromResult(env.Simulator.GetCallbackSuccessCount(taskId) == 3),
            TimeSpan.FromSeconds(10),
            "the simulator to deliver the callback three times, each answered 2xx");
        // The third callback was answered; anything it published would already be on its way.
        var probe = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = probe, prompt = "" });
        await env.Events.TerminalAsync(probe);

        env.Events.SingleTerminalFor(requestId);
    }

    [Fact]
    public async Task Forged_or_altered_token_gets_404_and_changes_nothing()
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Slow [sim:never-finish] {requestId:N}" });
        await env.SubmittedAsync(requestId);
        var create = Assert.Single(env.CreatesFor(requestId.ToString("N")));
        var token = env.CallbackTokenOf(requestId);
        var completed = $$"""{"id":"{{create.TaskId}}","status":"completed","progress":100,"results":["https://files.example/x.png"]}""";
        var altered = token[..10] + (token[10] == 'A' ? 'B' : 'A') + token[11..];

        Assert.Equal(HttpStatusCode.NotFound, (await env.PostCallbackAsync("evolink", altered, completed)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await env.PostCallbackAsync("evolink", "CfDJ8forgedtoken", completed)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await env.PostCallbackAsync("gptimage15", token, completed)).StatusCode);
        var otherTask = completed.Replace(create.TaskId!, "task-unified-0-someone", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await env.PostCallbackAsync("evolink", token, otherTask)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await env.PostCallbackAsync("evolink", token, "{not json")).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await PostOversizedAsync(env, token, $$"""{"id":"{{create.TaskId}}","pad":"{{new string('x', 70_000)}}"}"""));

        var row = await env.RowAsync(requestId);
        Assert.Equal(RequestState.Submitted, row!.State);
        Assert.Null(row.EventJson);
        Assert.Empty(env.Events.TerminalFor(requestId));

        // The genuine token still works, once.
        Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", token, completed)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await env.PostCallbackAsync("evolink", token, completed)).StatusCode);
        var terminal = await env.Events.TerminalAsync(requestId);
        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(RequestState.Completed, (await env.RowAsync(requestId))!.State);
    }

    /// <summary>
    /// Posts a body the receiver refuses by its length alone. It answers 413 without reading the body, and closes the
    /// connection: a client still sending then sees the connection end instead of the answer. With
    /// <c>Expect: 100-continue</c> the client waits for the answer before sending the body, as a careful provider would.
    /// </summary>
    private static async Task<HttpStatusCode> PostOversizedAsync(PipelineEnvironment env, string token, string body)
    {
        using var http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(env.ReceiverUrl, $"/callbacks/evolink/{token}"))
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
