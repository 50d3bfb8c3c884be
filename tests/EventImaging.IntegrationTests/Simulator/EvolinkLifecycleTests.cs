using System.Diagnostics;
using System.Net.Http.Json;
using EventImaging.ProviderSimulator;

namespace EventImaging.IntegrationTests.Simulator;

public sealed class EvolinkLifecycleTests : IAsyncLifetime
{
    private SimulatorHost host = null!;

    public async Task InitializeAsync() => host = await SimulatorHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task Task_moves_from_processing_to_completed_with_a_result_url_that_serves_a_png()
    {
        // Long enough that polling catches the processing phase, however loaded the machine.
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=3000]");

        var running = await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() == "processing");
        Assert.InRange(running.GetProperty("progress").GetInt32(), 1, 99);
        Assert.False(running.TryGetProperty("results", out _));

        var done = await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() == "completed");
        Assert.Equal(100, done.GetProperty("progress").GetInt32());
        Assert.False(done.GetProperty("task_info").GetProperty("can_cancel").GetBoolean());
        var url = new Uri(Assert.Single(done.GetProperty("results").EnumerateArray()).GetString()!);
        Assert.Equal(host.BaseUri.Authority, url.Authority);

        using var image = await host.Client.GetAsync(url);
        Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
        Assert.True(host.State.GetStatusQueryCount(id) >= 2);
    }

    [Fact]
    public async Task Unknown_task_is_404_task_not_found()
    {
        using var response = await host.GetAsync("evolink/v1/tasks/task-unified-1-abcdefgh");

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Equal("task_not_found", (await SimulatorHost.Json(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Fail_marker_fails_the_task_with_the_given_code()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50;fail=generation_timeout]");

        var failed = await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() != "pending" && t.GetProperty("status").GetString() != "processing");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("generation_timeout", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("task_error", failed.GetProperty("error").GetProperty("type").GetString());
        Assert.False(failed.TryGetProperty("results", out _));
    }

    [Fact]
    public async Task Fail_without_error_marker_fails_the_task_without_an_error_object()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50;fail-without-error]");

        var failed = await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() == "failed");
        Assert.False(failed.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task Cancel_marker_ends_the_task_cancelled()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50] [sim:cancel]");

        var cancelled = await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() == "cancelled");
        Assert.False(cancelled.TryGetProperty("results", out _));
    }

    [Fact]
    public async Task Instance_fail_knob_fails_every_new_task_with_that_code()
    {
        host.State.UpdateKnobs(k => k with { FailWithCode = "content_policy_violation" });
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50]");

        var failed = await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() == "failed");
        Assert.Equal("content_policy_violation", failed.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Never_finish_keeps_the_task_processing_after_its_delay()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50;never-finish]");
        var finite = await host.CreateEvolinkAsync("a dog [sim:delay=50]");
        await host.EvolinkWhenAsync(finite, t => t.GetProperty("status").GetString() == "completed");

        var task = await host.EvolinkTaskAsync(id);
        Assert.Equal("processing", task.GetProperty("status").GetString());
        Assert.InRange(task.GetProperty("progress").GetInt32(), 1, 95);
    }

    [Fact]
    public async Task Create_error_marker_fails_only_the_first_attempts_with_that_prompt_and_sends_retry_after()
    {
        const string prompt = "a cat [sim:create-error=429;create-error-times=2;retry-after=7]";
        var statuses = new List<int>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var response = await host.PostAsync("evolink/v1/images/generations", new { model = "gpt-image-1.5", prompt });
            statuses.Add((int)response.StatusCode);
            if (attempt == 0)
            {
                Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
                Assert.Equal("rate_limit_exceeded", (await SimulatorHost.Json(response)).GetProperty("error").GetProperty("code").GetString());
            }
        }

        Assert.Equal([429, 429, 200], statuses);
    }

    [Theory]
    [InlineData(400, "invalid_request")]
    [InlineData(401, "unauthorized")]
    [InlineData(402, "insufficient_quota")]
    [InlineData(403, "model_access_denied")]
    [InlineData(413, "413")]
    [InlineData(429, "rate_limit_exceeded")]
    [InlineData(500, "internal_error")]
    [InlineData(502, "502")]
    [InlineData(503, "503")]
    public async Task Injected_create_error_has_the_documented_status_and_code(int status, string code)
    {
        host.State.UpdateKnobs(k => k with { CreateErrorStatus = status });
        using var response = await host.PostAsync("evolink/v1/images/generations", new { model = "gpt-image-1.5", prompt = "a cat" });
        var error = (await SimulatorHost.Json(response)).GetProperty("error");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, error.GetProperty("code").ToString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task Query_error_marker_answers_the_first_queries_with_that_status()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:query-error=500;query-error-count=2]");
        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await host.GetAsync($"evolink/v1/tasks/{id}");
            statuses.Add((int)response.StatusCode);
        }

        Assert.Equal([500, 500, 200], statuses);
        Assert.Equal(3, host.State.GetStatusQueryCount(id));
    }

    [Fact]
    public async Task Query_errors_set_through_the_admin_endpoint_apply_to_the_next_queries()
    {
        var id = await host.CreateEvolinkAsync("a cat");
        using var put = await host.Client.PutAsJsonAsync("simulator/knobs", new { completionDelayMs = 100, queryErrorStatus = 429, queryErrorCount = 1, retryAfterSeconds = 3 });
        Assert.Equal(200, (int)put.StatusCode);

        using var first = await host.GetAsync($"evolink/v1/tasks/{id}");
        using var second = await host.GetAsync($"evolink/v1/tasks/{id}");

        Assert.Equal(429, (int)first.StatusCode);
        Assert.Equal("3", first.Headers.GetValues("Retry-After").Single());
        Assert.Equal(200, (int)second.StatusCode);
    }

    [Fact]
    public async Task Query_error_window_ends_after_its_duration()
    {
        // A 3 s window: the first query lands in it unless the test thread stalls that long after the create.
        var id = await host.CreateEvolinkAsync("a cat [sim:query-error=500;query-error-ms=3000]");
        using (var early = await host.GetAsync($"evolink/v1/tasks/{id}"))
        {
            Assert.Equal(500, (int)early.StatusCode);
        }

        await Eventually.TrueAsync(
            async () =>
            {
                using var response = await host.GetAsync($"evolink/v1/tasks/{id}");
                return response.IsSuccessStatusCode;
            },
            timeoutMs: 20_000);
    }

    [Fact]
    public async Task Response_latency_slows_every_call()
    {
        host.State.UpdateKnobs(k => k with { ResponseLatencyMs = 250 });
        var watch = Stopwatch.StartNew();
        var id = await host.CreateEvolinkAsync("a cat");
        var created = watch.Elapsed;
        watch.Restart();
        await host.EvolinkTaskAsync(id);

        Assert.True(created >= TimeSpan.FromMilliseconds(240), $"create took {created}");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(240), $"query took {watch.Elapsed}");
    }

    [Fact]
    public async Task Create_latency_marker_slows_only_create()
    {
        var watch = Stopwatch.StartNew();
        await host.CreateEvolinkAsync("a cat [sim:create-latency=200]");

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(190), $"create took {watch.Elapsed}");
    }
}
