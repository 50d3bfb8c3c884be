using System.Globalization;
using System.Text.Json;

namespace EventImaging.IntegrationTests.Simulator;

public sealed class GptImage15Tests : IAsyncLifetime
{
    private const string Generate = "gptimage15/api/generate";
    private static readonly string[] EditImages = ["https://img.example/landscape.jpg"];
    private static readonly string[] RunningStatuses = ["PENDING", "IN_PROGRESS"];
    private SimulatorHost host = null!;

    public async Task InitializeAsync() => host = await SimulatorHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task Create_without_a_valid_key_is_401_with_code_and_null_data()
    {
        using var response = await host.PostAsync(Generate, new { prompt = "a cat" }, key: "wrong");
        var body = await SimulatorHost.Json(response);

        Assert.Equal(401, (int)response.StatusCode);
        Assert.Equal(401, body.GetProperty("code").GetInt32());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("data").ValueKind);
    }

    [Fact]
    public async Task Missing_prompt_is_the_documented_400()
    {
        using var response = await host.PostAsync(Generate, new { size = "1024*1024" });

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("""{"code":400,"message":"Bad Request: 'prompt' is required.","data":null}""", await response.Content.ReadAsStringAsync());
    }

    public static TheoryData<string, string> InvalidBodies() => new()
    {
        { $$"""{"prompt":"{{new string('p', 2001)}}"}""", "'prompt'" },
        { """{"prompt":"a cat","size":"1024x1024"}""", "'size'" },
        { """{"prompt":"a cat","size":"1:1"}""", "'size'" },
        { """{"prompt":"a cat","quality":"auto"}""", "'quality'" },
        { """{"prompt":"a cat","images":"https://img.example/a.png"}""", "'images'" },
        { """{"prompt":"a cat","images":["not a url"]}""", "'images'" },
        { """{"prompt":"a cat","images":["https://img.example/a.png"],"input_fidelity":"medium"}""", "'input_fidelity'" },
        { """{"prompt":"a cat","callback_url":"not a url"}""", "'callback_url'" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Invalid_create_is_400_naming_the_field(string body, string field)
    {
        using var response = await host.PostAsync(Generate, body);
        var json = await SimulatorHost.Json(response);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(400, json.GetProperty("code").GetInt32());
        Assert.StartsWith("Bad Request: ", json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(field, json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Edit_request_with_every_field_is_accepted()
    {
        using var response = await host.PostAsync(Generate, new
        {
            prompt = "Add a rainbow",
            size = "1536*1024",
            quality = "high",
            images = EditImages,
            input_fidelity = "low",
            callback_url = "https://hooks.example/cb",
        });
        var json = await SimulatorHost.Json(response);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(200, json.GetProperty("code").GetInt32());
        Assert.Equal("IN_PROGRESS", json.GetProperty("data").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Status_goes_to_success_with_a_response_array_and_documented_fields()
    {
        // Long enough that the first status query lands while the task runs, however loaded the machine.
        var id = await host.CreateGptImage15Async("a cat [sim:delay=3000]");

        var running = await host.GptImage15StatusAsync(id);
        Assert.Contains(running.GetProperty("data").GetProperty("status").GetString(), RunningStatuses);
        Assert.Equal(JsonValueKind.Null, running.GetProperty("data").GetProperty("response").ValueKind);

        var done = (await host.GptImage15WhenAsync(id, s => s.GetProperty("data").GetProperty("status").GetString() == "SUCCESS")).GetProperty("data");
        Assert.Equal(id, done.GetProperty("task_id").GetString());
        Assert.Equal(10, done.GetProperty("consumed_credits").GetInt32());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error_message").ValueKind);
        Assert.True(DateTimeOffset.TryParseExact(done.GetProperty("created_at").GetString(), "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _));
        var url = Assert.Single(done.GetProperty("response").EnumerateArray()).GetString()!;
        Assert.EndsWith("_1024x1024.png", new Uri(url).AbsolutePath, StringComparison.Ordinal);
        // The provider's storage keeps results for a day, as evolink documents: the link says until when.
        Assert.StartsWith("?expires=", new Uri(url).Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_task_has_failed_status_error_message_and_no_credits()
    {
        var id = await host.CreateGptImage15Async("a cat [sim:delay=50;fail]");

        var failed = (await host.GptImage15WhenAsync(id, s => s.GetProperty("data").GetProperty("status").GetString() == "FAILED")).GetProperty("data");
        Assert.Equal("Content policy violation detected", failed.GetProperty("error_message").GetString());
        Assert.Equal(0, failed.GetProperty("consumed_credits").GetInt32());
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("response").ValueKind);
    }

    [Fact]
    public async Task Alternative_shape_marker_emits_numeric_status_string_response_singular_credit_and_plain_time()
    {
        var id = await host.CreateGptImage15Async("a cat [sim:delay=50;shape=numeric-status+string-response+consumed-credit+plain-time]");

        var done = (await host.GptImage15WhenAsync(id, s => s.GetProperty("data").GetProperty("status").ValueKind == JsonValueKind.Number
            && s.GetProperty("data").GetProperty("status").GetInt32() != 0)).GetProperty("data");
        Assert.Equal(1, done.GetProperty("status").GetInt32());
        Assert.Equal(JsonValueKind.String, done.GetProperty("response").ValueKind);
        using var urls = JsonDocument.Parse(done.GetProperty("response").GetString()!);
        Assert.Single(urls.RootElement.EnumerateArray());
        Assert.Equal(10, done.GetProperty("consumed_credit").GetInt32());
        Assert.False(done.TryGetProperty("consumed_credits", out _));
        Assert.True(DateTime.TryParseExact(done.GetProperty("created_at").GetString(), "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        Assert.Equal(JsonValueKind.String, done.GetProperty("request").ValueKind);
    }

    [Fact]
    public async Task Instance_shape_knob_applies_to_new_tasks_and_failed_is_minus_one()
    {
        host.State.UpdateKnobs(k => k with { GptImage15Shape = new EventImaging.ProviderSimulator.GptImage15Shape { NumericStatus = true } });
        var id = await host.CreateGptImage15Async("a cat [sim:delay=50;fail=service_error]");

        var failed = (await host.GptImage15WhenAsync(id, s => s.GetProperty("data").GetProperty("status").GetInt32() != 0)).GetProperty("data");
        Assert.Equal(-1, failed.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Unknown_task_is_404_and_missing_task_id_is_400()
    {
        using var unknown = await host.GetAsync("gptimage15/api/status?task_id=nope");
        using var missing = await host.GetAsync("gptimage15/api/status");

        Assert.Equal(404, (int)unknown.StatusCode);
        Assert.Equal(404, (await SimulatorHost.Json(unknown)).GetProperty("code").GetInt32());
        Assert.Equal(400, (int)missing.StatusCode);
    }

    [Fact]
    public async Task Injected_create_error_uses_the_gptimage15_body()
    {
        using var response = await host.PostAsync(Generate, new { prompt = "a cat [sim:create-error=402]" });
        var body = await SimulatorHost.Json(response);

        Assert.Equal(402, (int)response.StatusCode);
        Assert.Equal(402, body.GetProperty("code").GetInt32());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("data").ValueKind);
    }

    [Fact]
    public async Task Query_error_marker_answers_with_the_gptimage15_error_body()
    {
        var id = await host.CreateGptImage15Async("a cat [sim:query-error=429;query-error-count=1]");
        using var response = await host.GetAsync($"gptimage15/api/status?task_id={id}");

        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal(429, (await SimulatorHost.Json(response)).GetProperty("code").GetInt32());
    }
}
