using System.Net;
using EventImaging.IntegrationTests.Infrastructure;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary><c>Callbacks:RateLimitPerSource</c>: a source that calls faster than its limit gets 429 after its burst.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class CallbackRateLimitTests(RabbitMqFixture rabbitMq, PostgresFixture postgres) : IAsyncLifetime
{
    private PipelineEnvironment env = null!;

    public async Task InitializeAsync() =>
        env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?> { ["Callbacks:RateLimitPerSource"] = "3" });

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
}
