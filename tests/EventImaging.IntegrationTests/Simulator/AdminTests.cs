using System.Net.Http.Json;
using System.Text.Json;
using EventImaging.ProviderSimulator;

namespace EventImaging.IntegrationTests.Simulator;

public sealed class AdminTests
{
    [Fact]
    public async Task Configuration_section_sets_the_knobs_and_the_accepted_keys()
    {
        await using var host = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:CompletionDelayMs"] = "777",
            ["Simulator:CallbackCopies"] = "2",
            ["Simulator:GptImage15Shape:NumericStatus"] = "true",
            ["Simulator:ApiKeys:0"] = "key-one",
            ["Simulator:ApiKeys:1"] = "key-two",
        });

        using var knobs = await host.Client.GetAsync("simulator/knobs");
        var json = await SimulatorHost.Json(knobs);
        Assert.Equal(777, json.GetProperty("completionDelayMs").GetInt32());
        Assert.Equal(2, json.GetProperty("callbackCopies").GetInt32());
        Assert.True(json.GetProperty("gptImage15Shape").GetProperty("numericStatus").GetBoolean());

        using var defaultKey = await host.PostAsync("evolink/v1/images/generations", new { model = "gpt-image-1.5", prompt = "a cat" });
        using var configuredKey = await host.PostAsync("evolink/v1/images/generations", new { model = "gpt-image-1.5", prompt = "a cat" }, key: "key-two");
        Assert.Equal(401, (int)defaultKey.StatusCode);
        Assert.Equal(200, (int)configuredKey.StatusCode);
    }

    [Fact]
    public async Task Put_knobs_replaces_the_instance_knobs()
    {
        await using var host = await SimulatorHost.StartAsync();

        using var put = await host.Client.PutAsJsonAsync("simulator/knobs", new { completionDelayMs = 42, neverFinish = true });
        using var get = await host.Client.GetAsync("simulator/knobs");
        var json = await SimulatorHost.Json(get);

        Assert.Equal(200, (int)put.StatusCode);
        Assert.Equal(42, json.GetProperty("completionDelayMs").GetInt32());
        Assert.True(json.GetProperty("neverFinish").GetBoolean());
        Assert.Equal(42, host.State.Knobs.CompletionDelayMs);
        Assert.Null(host.State.Knobs.EvolinkCallbackRetryDelaysMs);
    }

    [Fact]
    public async Task Put_knobs_with_an_out_of_range_value_is_400_and_changes_nothing()
    {
        await using var host = await SimulatorHost.StartAsync();

        using var put = await host.Client.PutAsJsonAsync("simulator/knobs", new { completionDelayMs = 5, createErrorStatus = 418 });

        Assert.Equal(400, (int)put.StatusCode);
        Assert.Equal(100, host.State.Knobs.CompletionDelayMs);
        Assert.Throws<ArgumentException>(() => host.State.SetKnobs(new SimulatorKnobs { CompletionDelayMs = -1 }));
    }

    [Fact]
    public async Task Stats_and_requests_report_what_the_simulator_saw()
    {
        await using var host = await SimulatorHost.StartAsync();
        var evolink = await host.CreateEvolinkAsync("a cat [sim:delay=0]", host.CallbackUrl("stats"));
        await host.EvolinkTaskAsync(evolink);
        await host.EvolinkTaskAsync(evolink);
        var gpt = await host.CreateGptImage15Async("a dog");
        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(evolink) == 1);

        using var stats = await host.Client.GetAsync("simulator/stats");
        var json = await SimulatorHost.Json(stats);
        Assert.Equal(1, json.GetProperty("evolink").GetProperty("tasksCreated").GetInt32());
        Assert.Equal(2, json.GetProperty("evolink").GetProperty("statusQueries").GetInt32());
        Assert.Equal(1, json.GetProperty("evolink").GetProperty("callbackSuccesses").GetInt32());
        Assert.Equal(1, json.GetProperty("gptImage15").GetProperty("createRequests").GetInt32());
        var task = json.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("taskId").GetString() == evolink);
        Assert.Equal("Evolink", task.GetProperty("provider").GetString());
        Assert.Equal("completed", task.GetProperty("status").GetString());

        using var requests = await host.Client.GetAsync("simulator/requests");
        var list = (await SimulatorHost.Json(requests)).EnumerateArray().ToList();
        Assert.Equal(2, list.Count);
        Assert.Equal(gpt, list[0].GetProperty("taskId").GetString());
        Assert.Equal("a dog", list[0].GetProperty("body").GetProperty("prompt").GetString());
        Assert.Equal(JsonValueKind.Object, list[1].GetProperty("body").ValueKind);
    }

    [Fact]
    public async Task Simulator_routes_do_not_collide_with_the_host_routes()
    {
        await using var host = await SimulatorHost.StartAsync();

        foreach (var path in new[] { "v1/images", "v1/images/generations", "callbacks/evolink", "health/live" })
        {
            using var response = await host.Client.PostAsync(path, null);
            Assert.Equal(404, (int)response.StatusCode);
        }
    }
}
