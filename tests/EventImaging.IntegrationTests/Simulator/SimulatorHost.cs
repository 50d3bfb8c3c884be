using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EventImaging.ProviderSimulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventImaging.IntegrationTests.Simulator;

/// <summary>
/// The simulator on real Kestrel at a free port, plus a callback receiver in the same app.
/// Each test starts its own: instance knobs are global, and a private host keeps tests parallel.
/// </summary>
internal sealed class SimulatorHost : IAsyncDisposable
{
    public const string Key = "sim-key";

    private SimulatorHost(WebApplication app, Uri baseUri)
    {
        App = app;
        BaseUri = baseUri;
        Client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }
    public Uri BaseUri { get; }
    public HttpClient Client { get; }
    public SimulatorState State => App.Services.GetRequiredService<SimulatorState>();
    public CallbackReceiver Receiver => App.Services.GetRequiredService<CallbackReceiver>();

    /// <param name="shortRetries">Shrinks evolink's documented 1/2/4 s callback retry delays to 50/100/200 ms.</param>
    /// <param name="time">The simulator's clock; the system clock when null.</param>
    public static async Task<SimulatorHost> StartAsync(IDictionary<string, string?>? settings = null, bool shortRetries = true, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var config = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Simulator:CompletionDelayMs"] = "100",
            ["Simulator:AllowInsecureCallbacks"] = "true",
        };
        if (shortRetries)
        {
            config["Simulator:EvolinkCallbackRetryDelaysMs:0"] = "50";
            config["Simulator:EvolinkCallbackRetryDelaysMs:1"] = "100";
            config["Simulator:EvolinkCallbackRetryDelaysMs:2"] = "200";
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.AddProviderSimulator();
        builder.Services.AddSingleton<CallbackReceiver>();

        var app = builder.Build();
        app.MapProviderSimulator();
        app.MapPost("/test-callbacks/{name}", async (string name, HttpRequest request, CallbackReceiver receiver) =>
        {
            using var reader = new StreamReader(request.Body);
            return Results.StatusCode(receiver.Receive(name, await reader.ReadToEndAsync()));
        });
        await app.StartAsync();
        return new SimulatorHost(app, new Uri(app.Urls.First().TrimEnd('/') + "/"));
    }

    public string CallbackUrl(string name) => new Uri(BaseUri, $"test-callbacks/{name}").ToString();

    public async Task<HttpResponseMessage> PostAsync(string path, object body, string? key = Key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = body is string raw
                ? new StringContent(raw, Encoding.UTF8, "application/json")
                : JsonContent.Create(body),
        };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await Client.SendAsync(request);
    }

    public async Task<HttpResponseMessage> GetAsync(string path, string? key = Key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await Client.SendAsync(request);
    }

    /// <summary>Creates an evolink task and returns its id.</summary>
    public async Task<string> CreateEvolinkAsync(string prompt, string? callback = null, string model = "gpt-image-1.5")
    {
        var body = new Dictionary<string, object?> { ["model"] = model, ["prompt"] = prompt, ["size"] = "1:1", ["quality"] = "low" };
        if (callback is not null)
        {
            body["callback_url"] = callback;
        }

        using var response = await PostAsync("evolink/v1/images/generations", body);
        var json = await Json(response);
        Assert.Equal(200, (int)response.StatusCode);
        return json.GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> EvolinkTaskAsync(string id)
    {
        using var response = await GetAsync($"evolink/v1/tasks/{id}");
        Assert.Equal(200, (int)response.StatusCode);
        return await Json(response);
    }

    /// <summary>Creates a gptimage15 task and returns its id.</summary>
    public async Task<string> CreateGptImage15Async(string prompt, string? callback = null)
    {
        var body = new Dictionary<string, object?> { ["prompt"] = prompt };
        if (callback is not null)
        {
            body["callback_url"] = callback;
        }

        using var response = await PostAsync("gptimage15/api/generate", body);
        var json = await Json(response);
        Assert.Equal(200, (int)response.StatusCode);
        return json.GetProperty("data").GetProperty("task_id").GetString()!;
    }

    public async Task<JsonElement> GptImage15StatusAsync(string id)
    {
        using var response = await GetAsync($"gptimage15/api/status?task_id={id}");
        Assert.Equal(200, (int)response.StatusCode);
        return await Json(response);
    }

    public async Task<JsonElement> EvolinkWhenAsync(string id, Func<JsonElement, bool> condition)
    {
        JsonElement last = default;
        await Eventually.TrueAsync(async () => condition(last = await EvolinkTaskAsync(id)));
        return last;
    }

    public async Task<JsonElement> GptImage15WhenAsync(string id, Func<JsonElement, bool> condition)
    {
        JsonElement last = default;
        await Eventually.TrueAsync(async () => condition(last = await GptImage15StatusAsync(id)));
        return last;
    }

    public static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>Receives callbacks, answering from a per-name script of statuses (then 200).</summary>
internal sealed class CallbackReceiver
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(DateTimeOffset At, string Body)>> received = new();
    private readonly ConcurrentDictionary<string, int[]> scripts = new();

    public void Script(string name, params int[] statuses) => scripts[name] = statuses;

    public int Receive(string name, string body)
    {
        var queue = received.GetOrAdd(name, _ => new());
        int index;
        lock (queue)
        {
            queue.Enqueue((DateTimeOffset.UtcNow, body));
            index = queue.Count - 1;
        }

        return scripts.TryGetValue(name, out var script) && index < script.Length ? script[index] : 200;
    }

    public IReadOnlyList<(DateTimeOffset At, string Body)> For(string name) =>
        received.TryGetValue(name, out var queue) ? [.. queue] : [];

    public JsonElement LastBody(string name)
    {
        using var document = JsonDocument.Parse(For(name)[^1].Body);
        return document.RootElement.Clone();
    }
}
