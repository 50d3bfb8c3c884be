using System.Text.Json;
using System.Text.RegularExpressions;

namespace EventImaging.IntegrationTests.Simulator;

public sealed partial class EvolinkCreateTests : IAsyncLifetime
{
    private const string Create = "evolink/v1/images/generations";
    private SimulatorHost host = null!;

    public async Task InitializeAsync() =>
        host = await SimulatorHost.StartAsync(new Dictionary<string, string?> { ["Simulator:AllowInsecureCallbacks"] = "false" });

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task Create_without_a_valid_key_is_401_with_the_documented_body(string? key)
    {
        using var response = await host.PostAsync(Create, new { model = "gpt-image-1.5", prompt = "a cat" }, key);
        var error = (await SimulatorHost.Json(response)).GetProperty("error");

        Assert.Equal(401, (int)response.StatusCode);
        Assert.Equal("unauthorized", error.GetProperty("code").GetString());
        Assert.Equal("authentication_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain(host.State.GetCreateRequests(), r => r.TaskId is not null);
    }

    [Fact]
    public async Task Query_without_a_valid_key_is_401()
    {
        var id = await host.CreateEvolinkAsync("a cat");
        using var response = await host.GetAsync($"evolink/v1/tasks/{id}", key: "nope");

        Assert.Equal(401, (int)response.StatusCode);
        Assert.Equal("unauthorized", (await SimulatorHost.Json(response)).GetProperty("error").GetProperty("code").GetString());
    }

    public static TheoryData<string, string> InvalidBodies()
    {
        var urls17 = JsonSerializer.Serialize(Enumerable.Range(0, 17).Select(i => $"https://img.example/{i}.png"));
        return new TheoryData<string, string>
        {
            { """{"prompt":"a cat"}""", "model" },
            { """{"model":"gpt-image-2","prompt":"a cat"}""", "model" },
            { """{"model":"gpt-image-1.5"}""", "prompt" },
            { """{"model":"gpt-image-1.5","prompt":"   "}""", "prompt" },
            { $$"""{"model":"gpt-image-1.5","prompt":"{{new string('p', 2001)}}"}""", "prompt" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","size":"512x512"}""", "size" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","size":"1024*1024"}""", "size" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","quality":"auto"}""", "quality" },
            { """{"model":"gpt-image-1.5-beta","prompt":"a cat","quality":"ultra"}""", "quality" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","image_urls":[]}""", "image_urls" },
            { $$"""{"model":"gpt-image-1.5","prompt":"a cat","image_urls":{{urls17}}}""", "image_urls" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","image_urls":["/relative.png"]}""", "image_urls" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","image_urls":["ftp://img.example/a.png"]}""", "image_urls" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","n":2}""", "n" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"http://hooks.example/cb"}""", "callback_url" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://127.0.0.1/cb"}""", "callback_url" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://localhost/cb"}""", "callback_url" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://10.1.2.3/cb"}""", "callback_url" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://172.20.0.1/cb"}""", "callback_url" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://192.168.1.1/cb"}""", "callback_url" },
            { """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://[::1]/cb"}""", "callback_url" },
            { $$"""{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://hooks.example/{{new string('a', 2040)}}"}""", "callback_url" },
            { """not json""", "body" },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Invalid_create_is_400_with_an_error_naming_the_field(string body, string param)
    {
        using var response = await host.PostAsync(Create, body);
        var error = (await SimulatorHost.Json(response)).GetProperty("error");

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("invalid_request", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(param, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    public static TheoryData<string> ValidBodies() => new()
    {
        """{"model":"gpt-image-1.5-beta","prompt":"a cat","quality":"auto"}""",
        $$"""{"model":"gpt-image-1.5","prompt":"{{new string('p', 2000)}}"}""",
        $$"""{"model":"gpt-image-1.5","prompt":"a cat","size":"3:2","quality":"high","n":1,"image_urls":{{JsonSerializer.Serialize(Enumerable.Range(0, 16).Select(i => $"https://img.example/{i}.png"))}}}""",
        """{"model":"gpt-image-1.5","prompt":"a cat","callback_url":"https://hooks.example/cb?token=abc"}""",
        """{"model":"gpt-image-1.5","prompt":"a cat","size":null,"callback_url":null,"unknown":"ignored"}""",
    };

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public async Task Valid_create_is_accepted(string body)
    {
        using var response = await host.PostAsync(Create, body);

        Assert.Equal(200, (int)response.StatusCode);
    }

    [Fact]
    public async Task Create_returns_the_documented_task_object()
    {
        using var response = await host.PostAsync(Create, new { model = "gpt-image-1.5", prompt = "a cat [sim:delay=2500]", quality = "medium" });
        var task = await SimulatorHost.Json(response);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Matches(TaskId(), task.GetProperty("id").GetString());
        Assert.Equal("gpt-image-1.5", task.GetProperty("model").GetString());
        Assert.Equal("image.generation.task", task.GetProperty("object").GetString());
        Assert.Equal(0, task.GetProperty("progress").GetInt32());
        Assert.Equal("pending", task.GetProperty("status").GetString());
        Assert.Equal("image", task.GetProperty("type").GetString());
        Assert.True(task.GetProperty("task_info").GetProperty("can_cancel").GetBoolean());
        Assert.Equal(3, task.GetProperty("task_info").GetProperty("estimated_time").GetInt32());
        var usage = task.GetProperty("usage");
        Assert.Equal("per_call", usage.GetProperty("billing_rule").GetString());
        Assert.True(usage.GetProperty("credits_reserved").GetDouble() > 0);
        Assert.Equal("default", usage.GetProperty("user_group").GetString());
        var created = task.GetProperty("created").GetInt64();
        Assert.InRange(created, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        Assert.EndsWith($"-{created}-", task.GetProperty("id").GetString()![..^8], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Estimated_time_is_at_least_one_second_for_short_delays()
    {
        using var response = await host.PostAsync(Create, new { model = "gpt-image-1.5", prompt = "a cat [sim:delay=0]" });

        Assert.Equal(1, (await SimulatorHost.Json(response)).GetProperty("task_info").GetProperty("estimated_time").GetInt32());
    }

    [Fact]
    public async Task The_lite_alias_is_reported_as_beta()
    {
        using var response = await host.PostAsync(Create, new { model = "gpt-image-1.5-lite", prompt = "a cat" });

        Assert.Equal("gpt-image-1.5-beta", (await SimulatorHost.Json(response)).GetProperty("model").GetString());
    }

    [Fact]
    public async Task Create_requests_are_recorded_with_body_and_task_id_and_markers_kept()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50]");
        using var rejected = await host.PostAsync(Create, new { model = "gpt-image-1.5" });

        var requests = host.State.GetCreateRequests(EventImaging.ProviderSimulator.SimulatedProvider.Evolink);
        var accepted = Assert.Single(requests, r => r.TaskId == id);
        Assert.Equal("a cat [sim:delay=50]", accepted.Body!.Value.GetProperty("prompt").GetString());
        Assert.Equal(200, accepted.ResponseStatus);
        Assert.Contains(requests, r => r.TaskId is null && r.ResponseStatus == 400);
    }

    [GeneratedRegex("^task-unified-[0-9]+-[a-z0-9]{8}$")]
    private static partial Regex TaskId();
}
