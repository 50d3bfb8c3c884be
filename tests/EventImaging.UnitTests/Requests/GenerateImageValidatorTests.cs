using EventImaging.Contracts;
using EventImaging.Core.Providers;
using EventImaging.Core.Providers.Evolink;
using EventImaging.Core.Providers.GptImage15;
using EventImaging.Core.Requests;
using Microsoft.Extensions.Options;

namespace EventImaging.UnitTests.Requests;

public sealed class GenerateImageValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private readonly GenerateImageValidator validator = new(new FixedClock(Now), Options.Create(new RequestOptions()));
    private readonly RequestRouter router = new(
        new ProviderRegistry([
            new EvolinkClient(new HttpClient(), Options.Create(new EvolinkOptions())),
            new GptImage15Client(new HttpClient(), Options.Create(new GptImage15Options())),
        ]),
        Options.Create(new ProvidersOptions()));

    private static GenerateImage Valid() => new() { RequestId = Guid.NewGuid(), Prompt = "A lighthouse at dusk" };

    private string[] Errors(GenerateImage command) =>
        validator.Validate(router.Route(command)).Errors.Select(e => e.ErrorMessage).ToArray();

    [Fact]
    public void A_minimal_command_is_valid_and_routed_to_the_defaults()
    {
        var routed = router.Route(Valid());
        Assert.Empty(validator.Validate(routed).Errors);
        Assert.Equal("evolink", routed.Provider);
        Assert.Equal("gpt-image-1.5", routed.Model);
    }

    [Fact]
    public void A_full_image_to_image_command_is_valid() =>
        Assert.Empty(Errors(Valid() with
        {
            Size = "3:2",
            Quality = "high",
            ImageUrls = ["https://images.example.com/a.png", "https://cdn.example.org/b.webp"],
            Model = "gpt-image-1.5",
            Provider = "evolink",
            Deadline = Now.AddMinutes(5),
            Metadata = new Dictionary<string, string> { ["order"] = "42" },
        }));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void Blank_prompt_is_named(string? prompt) =>
        Assert.Contains(Errors(Valid() with { Prompt = prompt! }), e => e.StartsWith("prompt", StringComparison.Ordinal));

    [Fact]
    public void Prompt_over_the_provider_limit_is_named() =>
        Assert.Contains(Errors(Valid() with { Prompt = new string('a', 2001) }), e => e.Contains("at most 2000", StringComparison.Ordinal));

    [Fact]
    public void Empty_request_id_is_named() =>
        Assert.Contains(Errors(Valid() with { RequestId = Guid.Empty }), e => e.StartsWith("requestId", StringComparison.Ordinal));

    [Theory]
    [InlineData("512x512")]
    [InlineData("1024*1024")]
    [InlineData("16:9")]
    public void Unknown_size_is_named(string size) =>
        Assert.Contains(Errors(Valid() with { Size = size }), e => e.StartsWith($"size '{size}'", StringComparison.Ordinal));

    [Fact]
    public void Auto_quality_is_only_for_the_beta_model()
    {
        Assert.Contains(Errors(Valid() with { Quality = "auto" }), e => e.StartsWith("quality 'auto'", StringComparison.Ordinal));
        Assert.Empty(Errors(Valid() with { Quality = "auto", Model = "gpt-image-1.5-beta" }));
    }

    [Fact]
    public void The_lite_model_name_is_an_alias_of_beta() =>
        Assert.Equal("gpt-image-1.5-beta", router.Route(Valid() with { Model = "gpt-image-1.5-lite" }).Model);

    [Fact]
    public void Unknown_model_and_provider_are_named()
    {
        Assert.Contains(Errors(Valid() with { Model = "dall-e-2" }), e => e.Contains("model 'dall-e-2'", StringComparison.Ordinal));
        Assert.Contains(Errors(Valid() with { Provider = "midjourney" }), e => e.Contains("provider 'midjourney'", StringComparison.Ordinal));
    }

    [Fact]
    public void Seventeen_image_urls_are_too_many()
    {
        var urls = Enumerable.Range(0, 17).Select(i => $"https://images.example.com/{i}.png").ToArray();
        Assert.Contains(Errors(Valid() with { ImageUrls = urls }), e => e.StartsWith("imageUrls holds 17", StringComparison.Ordinal));
    }

    [Fact]
    public void Sixteen_image_urls_are_accepted()
    {
        var urls = Enumerable.Range(0, 16).Select(i => $"https://images.example.com/{i}.png").ToArray();
        Assert.Empty(Errors(Valid() with { ImageUrls = urls }));
    }

    [Theory]
    [InlineData("https://10.0.0.5/a.png")]
    [InlineData("https://192.168.1.20/a.png")]
    [InlineData("https://127.0.0.1/a.png")]
    [InlineData("https://localhost/a.png")]
    [InlineData("https://[::1]/a.png")]
    [InlineData("https://[fd00::1]/a.png")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://intranet/a.png")]
    [InlineData("http://images.example.com/a.png")]
    [InlineData("ftp://images.example.com/a.png")]
    [InlineData("/relative.png")]
    public void Unsafe_image_urls_are_named(string url) =>
        Assert.Contains(Errors(Valid() with { ImageUrls = [url] }), e => e.StartsWith("imageUrls entry", StringComparison.Ordinal));

    [Fact]
    public void Empty_image_url_list_is_refused() =>
        Assert.Contains(Errors(Valid() with { ImageUrls = [] }), e => e.StartsWith("imageUrls must hold", StringComparison.Ordinal));

    [Fact]
    public void Input_fidelity_is_refused_where_the_provider_has_none() =>
        Assert.Contains(
            Errors(Valid() with { InputFidelity = "high", ImageUrls = ["https://images.example.com/a.png"] }),
            e => e.Contains("not supported by provider 'evolink'", StringComparison.Ordinal));

    [Fact]
    public void Deadline_in_the_past_is_named() =>
        Assert.Contains(Errors(Valid() with { Deadline = Now.AddSeconds(-1) }), e => e.StartsWith("deadline", StringComparison.Ordinal));

    [Fact]
    public void Oversized_metadata_is_named() =>
        Assert.Contains(
            Errors(Valid() with { Metadata = Enumerable.Range(0, 33).ToDictionary(i => $"k{i}", i => "v") }),
            e => e.StartsWith("metadata", StringComparison.Ordinal));

    [Fact]
    public void Gptimage15_takes_input_fidelity_with_images_and_every_size_of_the_vocabulary()
    {
        foreach (var size in new[] { "1024x1024", "1024x1536", "1536x1024", "1:1", "2:3", "3:2" })
        {
            Assert.Empty(Errors(Valid() with
            {
                Provider = "gptimage15",
                Size = size,
                ImageUrls = ["https://images.example.com/a.png"],
                InputFidelity = "low",
            }));
        }
    }

    [Fact]
    public void Gptimage15_refuses_what_it_cannot_honour_naming_the_provider()
    {
        Assert.Contains(Errors(Valid() with { Provider = "gptimage15", Quality = "auto" }), e => e.Contains("quality 'auto'", StringComparison.Ordinal) && e.Contains("gptimage15", StringComparison.Ordinal));
        Assert.Contains(Errors(Valid() with { Provider = "gptimage15", Model = "gpt-image-1.5-beta" }), e => e.Contains("not offered by provider 'gptimage15'", StringComparison.Ordinal));
        Assert.Contains(Errors(Valid() with { Provider = "gptimage15", InputFidelity = "high" }), e => e.StartsWith("inputFidelity applies only", StringComparison.Ordinal));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
