using EventImaging.Core.Callbacks;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace EventImaging.UnitTests.Callbacks;

public sealed class CallbackTokensTests
{
    private const string Base64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private static readonly IDataProtectionProvider KeyRing = new EphemeralDataProtectionProvider();

    private static CallbackTokens Tokens(TimeSpan? grace = null, Uri? baseUrl = null) => new(
        KeyRing,
        Options.Create(new CallbackOptions { TokenGrace = grace ?? TimeSpan.FromHours(1), PublicBaseUrl = baseUrl }));

    private static DateTimeOffset InAnHour => DateTimeOffset.UtcNow.AddHours(1);

    [Fact]
    public void A_minted_token_names_its_request()
    {
        var requestId = Guid.NewGuid();
        var tokens = Tokens();
        Assert.Equal(requestId, tokens.Read(tokens.Mint(requestId, "evolink", InAnHour), "evolink"));
    }

    [Fact]
    public void A_token_for_one_provider_is_refused_for_another()
    {
        var tokens = Tokens();
        Assert.Null(tokens.Read(tokens.Mint(Guid.NewGuid(), "evolink", InAnHour), "gptimage15"));
    }

    [Fact]
    public void Every_altered_character_is_detected()
    {
        var tokens = Tokens();
        var token = tokens.Mint(Guid.NewGuid(), "evolink", InAnHour);
        for (var i = 0; i < token.Length; i++)
        {
            var altered = token.ToCharArray();
            // Flip the highest of the character's six bits, which is never a padding bit.
            altered[i] = Base64Url[Base64Url.IndexOf(altered[i], StringComparison.Ordinal) ^ 0b100000];
            Assert.Null(tokens.Read(new string(altered), "evolink"));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("forged")]
    [InlineData("CfDJ8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("%%%")]
    public void Forged_tokens_are_refused(string token) => Assert.Null(Tokens().Read(token, "evolink"));

    [Fact]
    public void A_token_from_another_key_ring_is_refused()
    {
        var other = new CallbackTokens(new EphemeralDataProtectionProvider(), Options.Create(new CallbackOptions()));
        Assert.Null(Tokens().Read(other.Mint(Guid.NewGuid(), "evolink", InAnHour), "evolink"));
    }

    [Fact]
    public void A_token_expires_after_the_deadline_and_grace()
    {
        var tokens = Tokens(grace: TimeSpan.Zero);
        Assert.Null(tokens.Read(tokens.Mint(Guid.NewGuid(), "evolink", DateTimeOffset.UtcNow.AddSeconds(-1)), "evolink"));
    }

    [Fact]
    public void The_callback_url_is_the_base_plus_provider_plus_token()
    {
        var requestId = Guid.NewGuid();
        var tokens = Tokens(baseUrl: new Uri("https://hooks.example.com/"));
        var url = tokens.CallbackUrlFor(requestId, "evolink", InAnHour)!;
        Assert.StartsWith("https://hooks.example.com/callbacks/evolink/", url.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal(requestId, tokens.Read(url.Segments[^1], "evolink"));
        Assert.True(url.AbsoluteUri.Length <= 2048);
    }

    [Fact]
    public void Without_a_public_base_url_there_is_no_callback() =>
        Assert.Null(Tokens().CallbackUrlFor(Guid.NewGuid(), "evolink", InAnHour));
}
