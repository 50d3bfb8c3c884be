using System.Net;
using EventImaging.IntegrationTests.Infrastructure;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary><c>Callbacks:RateLimitPerSource</c>: a source that calls faster than its limit gets 429 after its burst.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class CallbackRateLimitTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private PipelineEnvironment env = null!;

    public async Task InitializeAsync() =>
        env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Callbacks:RateLimitPerSource"] = "3",
            ["Callbacks:TrustedProxies:0"] = "127.0.0.1",
        }, output: output);

    public async Task DisposeAsync() => await env.DisposeAsync();

    [Fact]
    public async Task A_source_over_its_limit_gets_429_once_its_burst_of_twice_the_limit_is_spent()
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            using var response = await env.PostCallbackAsync("evolink", "CfDJ8forgedtoken", "{}");
            statuses.Add(response.StatusCode);
        }

        // The burst (6) is answered on its merits (a forged token: 404); then the bucket refills at 3 a second.
        Assert.All(statuses[..6], status => Assert.Equal(HttpStatusCode.NotFound, status));
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses[6..]);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_each_forwarded_sender_has_its_own_limit()
    {
        // Everything arrives from the proxy (loopback here); X-Forwarded-For names the real senders.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(env.ReceiverUrl, "/callbacks/evolink/CfDJ8forgedtoken"))
            {
                Content = new StringContent("{}"),
            };
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            using var response = await env.Http.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.NotFound, status));
    }
}
