using EventImaging.Contracts;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>Each model of each provider, text-to-image and image-to-image, by callback and by poll: the mapped request and the event.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class ProviderMatrixTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private const string InputImage = "https://images.example.com/cat.png";

    public static TheoryData<string, string, bool, string> Cases()
    {
        var cases = new TheoryData<string, string, bool, string>();
        foreach (var (provider, model) in new[] { ("evolink", "gpt-image-1.5"), ("evolink", "gpt-image-1.5-beta"), ("gptimage15", "gpt-image-1.5") })
        {
            foreach (var imageToImage in new[] { false, true })
            {
                foreach (var via in new[] { CompletionPaths.Callback, CompletionPaths.Poll })
                {
                    cases.Add(provider, model, imageToImage, via);
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_model_completes_with_the_request_mapped_to_its_provider(string provider, string model, bool imageToImage, string via)
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = PipelineEnvironment.FirstPollGraceForBothPaths,
        }, output: output);
        var requestId = Guid.NewGuid();
        var marker = via == CompletionPaths.Poll ? "[sim:no-callback]" : "";
        await env.PublishJsonAsync(new
        {
            requestId,
            prompt = $"A cat in a hat {marker} {requestId:N}",
            provider,
            model,
            size = "3:2",
            quality = "low",
            imageUrls = imageToImage ? new[] { InputImage } : null,
            inputFidelity = imageToImage && provider == "gptimage15" ? "low" : null,
        });

        var terminal = await env.Events.TerminalAsync(requestId, TimeSpan.FromSeconds(30));

        Assert.Equal("ImageCompleted", terminal.Type);
        Assert.Equal(provider, terminal.Text("provider"));
        Assert.Equal(model, terminal.Text("model"));
        Assert.Equal(via, terminal.Text("completedVia"));
        var create = Assert.Single(env.CreatesFor(requestId.ToString("N")));
        Assert.Equal(create.TaskId, terminal.Text("providerTaskId"));
        Assert.Single(terminal.Message.GetProperty("imageUrls").EnumerateArray());

        var body = create.Body!.Value;
        if (provider == "evolink")
        {
            Assert.Equal(model, body.GetProperty("model").GetString());
            Assert.Equal("3:2", body.GetProperty("size").GetString());
            Assert.Equal("low", body.GetProperty("quality").GetString());
            Assert.Equal(imageToImage, body.TryGetProperty("image_urls", out var urls));
            Assert.False(body.TryGetProperty("input_fidelity", out _));
            if (imageToImage)
            {
                Assert.Equal(InputImage, Assert.Single(urls.EnumerateArray()).GetString());
            }
        }
        else
        {
            Assert.False(body.TryGetProperty("model", out _));
            Assert.Equal("1536*1024", body.GetProperty("size").GetString());
            Assert.Equal("low", body.GetProperty("quality").GetString());
            Assert.Equal(imageToImage, body.TryGetProperty("images", out var images));
            if (imageToImage)
            {
                Assert.Equal(InputImage, Assert.Single(images.EnumerateArray()).GetString());
                Assert.Equal("low", body.GetProperty("input_fidelity").GetString());
            }

            Assert.Equal(10, terminal.Message.GetProperty("creditsUsed").GetDouble());
        }
    }

    [Fact]
    public async Task A_request_that_named_no_provider_fails_over_when_its_provider_refuses_the_key_and_one_that_named_it_does_not()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Providers:Evolink:ApiKey"] = "revoked-key",
            ["Providers:Failover:0"] = "evolink",
            ["Providers:Failover:1"] = "gptimage15",
        }, output: output);
        var unnamed = Guid.NewGuid();
        var named = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = unnamed, prompt = $"Anywhere {unnamed:N}" });
        await env.PublishJsonAsync(new { requestId = named, prompt = $"Only evolink {named:N}", provider = "evolink" });

        var served = await env.Events.TerminalAsync(unnamed, TimeSpan.FromSeconds(30));
        var refused = await env.Events.TerminalAsync(named, TimeSpan.FromSeconds(30));

        Assert.Equal("ImageCompleted", served.Type);
        Assert.Equal("gptimage15", served.Text("provider"));
        Assert.Equal("gpt-image-1.5", served.Text("model"));
        Assert.Equal(["evolink", "gptimage15"], env.CreatesFor(unnamed.ToString("N")).OrderBy(c => c.ReceivedAt).Select(c => c.Provider.ToString().ToLowerInvariant()));
        Assert.Equal("ImageFailed", refused.Type);
        Assert.Equal(FailureCodes.Unauthorized, refused.Text("code"));
        Assert.Equal("evolink", refused.Text("provider"));
    }
}
