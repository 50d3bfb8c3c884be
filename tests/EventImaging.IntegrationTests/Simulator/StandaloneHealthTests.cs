using System.Net;
using EventImaging.IntegrationTests.Processes;

namespace EventImaging.IntegrationTests.Simulator;

/// <summary>The simulator as its own process, as containers run it, answers the probes every service answers.</summary>
public sealed class StandaloneHealthTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Standalone_simulator_answers_live_and_ready()
    {
        // StartAsync itself waits for /health/ready to answer 200.
        await using var simulator = await ServiceProcess.StartAsync("EventImaging.ProviderSimulator", new Dictionary<string, string?>(), output);
        using var http = new HttpClient { BaseAddress = simulator.BaseUrl };

        using var live = await http.GetAsync(new Uri("/health/live", UriKind.Relative));
        using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());
    }
}
