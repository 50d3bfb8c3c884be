using EventImaging.Core.Requests;

namespace EventImaging.UnitTests.Requests;

public sealed class PublicUrlRulesTests
{
    [Theory]
    [InlineData("https://images.example.com/a.png")]
    [InlineData("https://8.8.8.8/a.png")]
    [InlineData("https://[2001:4860:4860::8888]/a.png")]
    [InlineData("https://sub.domain.example.co.uk:8443/path?q=1")]
    public void Public_https_urls_pass(string url) => Assert.Null(PublicUrlRules.Check(url));

    [Theory]
    [InlineData("https://172.16.0.1/a.png")]
    [InlineData("https://172.31.255.255/a.png")]
    [InlineData("https://100.64.0.1/a.png")]
    [InlineData("https://0.0.0.0/a.png")]
    [InlineData("https://[fe80::1]/a.png")]
    [InlineData("https://[::ffff:10.0.0.1]/a.png")]
    [InlineData("https://[64:ff9b::a00:1]/a.png")]
    [InlineData("https://[2002:a00:1::1]/a.png")]
    [InlineData("https://198.18.0.1/a.png")]
    [InlineData("https://app.localhost/a.png")]
    [InlineData("https://user:secret@images.example.com/a.png")]
    public void Private_hosts_and_credentials_fail(string url) => Assert.NotNull(PublicUrlRules.Check(url));

    [Fact]
    public void Urls_longer_than_2048_characters_fail() =>
        Assert.NotNull(PublicUrlRules.Check("https://images.example.com/" + new string('a', 2048)));

    [Fact]
    public void Insecure_http_on_loopback_passes_only_when_allowed()
    {
        Assert.NotNull(PublicUrlRules.Check("http://127.0.0.1:5080"));
        Assert.Null(PublicUrlRules.Check("http://127.0.0.1:5080", allowInsecureHttp: true));
    }
}
