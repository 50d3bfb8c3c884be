using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.IntegrationTests.Host;

/// <summary>The README's walk-through: the Host alone, no broker, database or key, reaches a downloadable PNG.</summary>
public sealed class HostWalkthroughTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly HttpClient http = new();
    private readonly string ledgerPath = Path.Combine(Path.GetTempPath(), $"eventimaging-host-{Guid.NewGuid():N}.db");
    private ServiceProcess host = null!;

    // No broker, database or key: only the SQLite file is moved out of the way.
    public async Task InitializeAsync() =>
        host = await ServiceProcess.StartAsync("EventImaging.Host", new Dictionary<string, string?>(), output, "--Ledger:SqlitePath", ledgerPath);

    public async Task DisposeAsync()
    {
        http.Dispose();
        await host.DisposeAsync();
        foreach (var file in new[] { ledgerPath, ledgerPath + "-wal", ledgerPath + "-shm" })
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_posted_request_reaches_completed_with_a_png_that_downloads()
    {
        var requestId = await SubmitAsync(new { prompt = "A lighthouse at dusk", size = "1024x1536" });

        var view = await FinishedAsync(requestId);

        Assert.Equal("completed", view.GetProperty("state").GetString());
        Assert.Equal("evolink", view.GetProperty("provider").GetString());
        var url = Assert.Single(view.GetProperty("imageUrls").EnumerateArray()).GetString()!;
        var png = await http.GetByteArrayAsync(new Uri(url));
        Assert.Equal(PngSignature, png[..8]);
    }

    [Fact]
    public async Task An_invalid_request_ends_failed_with_the_field_named()
    {
        var requestId = await SubmitAsync(new { prompt = "x", size = "800x600" });

        var view = await FinishedAsync(requestId);

        Assert.Equal("failed", view.GetProperty("state").GetString());
        Assert.Equal("invalid_request", view.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("size '800x600'", view.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_refused_at_once()
    {
        using var content = new StringContent("prompt=cat", System.Text.Encoding.UTF8, "application/json");
        var response = await http.PostAsync(new Uri(host.BaseUrl, "/v1/images"), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_running_request_is_cancelled_with_delete_and_a_second_delete_says_it_had_ended()
    {
        var requestId = await SubmitAsync(new { prompt = "A slow lighthouse [sim:never-finish]" });
        await Eventually.UntilAsync(
            async () => (await http.GetAsync(new Uri(host.BaseUrl, $"/v1/images/{requestId}"))).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10),
            "the request to be recorded");

        var cancel = await http.DeleteAsync(new Uri(host.BaseUrl, $"/v1/images/{requestId}?reason=changed%20my%20mind"));

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var view = await FinishedAsync(requestId);
        Assert.Equal("cancelled", view.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Cancelled by the caller: changed my mind", view.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await http.DeleteAsync(new Uri(host.BaseUrl, $"/v1/images/{requestId}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync(new Uri(host.BaseUrl, $"/v1/images/{Guid.NewGuid()}"))).StatusCode);
    }

    private async Task<Guid> SubmitAsync(object body)
    {
        var response = await http.PostAsJsonAsync(new Uri(host.BaseUrl, "/v1/images"), body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requestId").GetGuid();
    }

    private async Task<JsonElement> FinishedAsync(Guid requestId)
    {
        JsonElement view = default;
        await Eventually.UntilAsync(
            async () =>
            {
                var response = await http.GetAsync(new Uri(host.BaseUrl, $"/v1/images/{requestId}"));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return false;
                }

                view = await response.Content.ReadFromJsonAsync<JsonElement>();
                return view.GetProperty("state").GetString() is "completed" or "failed";
            },
            TimeSpan.FromSeconds(30),
            $"request {requestId} to finish");
        return view;
    }
}
