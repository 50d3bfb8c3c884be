using System.Buffers.Binary;
using EventImaging.Core.Archiving;

namespace EventImaging.UnitTests.Archiving;

public sealed class ImageSnifferTests
{
    [Fact]
    public void A_png_is_known_by_its_signature_and_sized_from_its_header()
    {
        var png = new byte[64];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' }.CopyTo(png, 0);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 1536);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 1024);

        Assert.Equal(new ImageFormat("image/png", "png", 1536, 1024), Sniff(png));
    }

    [Fact]
    public void A_jpeg_is_sized_from_its_frame_header_after_other_segments()
    {
        byte[] jpeg =
        [
            0xFF, 0xD8,
            0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
            0xFF, 0xC4, 0x00, 0x04, 0x00, 0x00,
            0xFF, 0xC2, 0x00, 0x11, 0x08, 0x04, 0x00, 0x06, 0x00, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01,
            0xFF, 0xD9,
        ];

        Assert.Equal(new ImageFormat("image/jpeg", "jpg", 1536, 1024), Sniff(jpeg));
    }

    [Fact]
    public void A_webp_is_sized_from_its_extended_header()
    {
        var webp = new byte[40];
        "RIFF"u8.CopyTo(webp);
        "WEBPVP8X"u8.CopyTo(webp.AsSpan(8));
        // Canvas 1024 x 1536, stored less one in 24 bits each.
        webp[24] = 0xFF;
        webp[25] = 0x03;
        webp[27] = 0xFF;
        webp[28] = 0x05;

        Assert.Equal(new ImageFormat("image/webp", "webp", 1024, 1536), Sniff(webp));
    }

    [Theory]
    [InlineData("<html><body><h1>502 Bad Gateway</h1></body></html>")]
    [InlineData("")]
    [InlineData("GIF89a..........................")]
    public void Anything_else_is_not_an_image(string body) =>
        Assert.Null(Sniff(System.Text.Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void A_truncated_jpeg_is_not_an_image() =>
        Assert.Null(Sniff([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A]));

    private static ImageFormat? Sniff(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        return ImageSniffer.Sniff(stream);
    }
}
