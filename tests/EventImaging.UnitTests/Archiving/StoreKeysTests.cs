using EventImaging.Core.Archiving;

namespace EventImaging.UnitTests.Archiving;

public sealed class StoreKeysTests
{
    [Theory]
    [InlineData("0b6f2c1e-8d7a-4c2e-9f51-3a2b1c0d9e8f/0.png")]
    [InlineData("r/1.webp")]
    [InlineData("a b/c#d?.jpg")]
    [InlineData("x.png")]
    public void Request_keys_are_valid(string key) => Assert.True(StoreKeys.IsValid(key));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("../x.png")]
    [InlineData("r/../x.png")]
    [InlineData("r/./x.png")]
    [InlineData("/abs.png")]
    [InlineData("r/")]
    [InlineData("r//x.png")]
    [InlineData("r\\x.png")]
    [InlineData("C:x.png")]
    [InlineData("r/.hidden.png")]
    [InlineData("r/x\0.png")]
    public void Keys_that_could_leave_a_directory_or_hide_a_file_are_not(string? key)
    {
        Assert.False(StoreKeys.IsValid(key));
        if (key is not null)
        {
            Assert.Throws<ArgumentException>(() => StoreKeys.Segments(key));
        }
    }

    [Fact]
    public void A_key_is_longer_than_allowed_past_1024_characters()
    {
        Assert.True(StoreKeys.IsValid(new string('a', 1024)));
        Assert.False(StoreKeys.IsValid(new string('a', 1025)));
    }

    [Theory]
    [InlineData("https://cdn.example.com/images", "r/0.png", "https://cdn.example.com/images/r/0.png")]
    [InlineData("https://cdn.example.com/images/", "r/0.png", "https://cdn.example.com/images/r/0.png")]
    [InlineData("http://localhost:8080/files", "a b/c#d?.jpg", "http://localhost:8080/files/a%20b/c%23d%3F.jpg")]
    public void The_url_is_the_base_and_the_escaped_segments(string baseUrl, string key, string expected) =>
        Assert.Equal(expected, StoreKeys.UrlUnder(baseUrl, key).AbsoluteUri);
}
