using System.Buffers.Binary;
using System.IO.Compression;

namespace EventImaging.IntegrationTests.Simulator;

public sealed class ResultFileTests : IAsyncLifetime
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private SimulatorHost host = null!;

    public async Task InitializeAsync() => host = await SimulatorHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Theory]
    [InlineData("2:3", 1024, 1536)]
    [InlineData("1536x1024", 1536, 1024)]
    [InlineData("1:1", 1024, 1024)]
    public async Task Completed_task_result_is_a_valid_png_of_the_requested_size(string size, int width, int height)
    {
        using var create = await host.PostAsync("evolink/v1/images/generations", new { model = "gpt-image-1.5", prompt = "a cat [sim:delay=0]", size });
        var id = (await SimulatorHost.Json(create)).GetProperty("id").GetString()!;
        var task = await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() == "completed");
        var png = await host.Client.GetByteArrayAsync(task.GetProperty("results")[0].GetString());

        Assert.Equal(Signature, png[..8]);
        var chunks = Chunks(png).ToList();
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data.AsSpan(4)));
        Assert.Equal("IEND", chunks[^1].Type);

        // The pixel data inflates to exactly one filter byte plus one palette index per pixel per row.
        var idat = chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray();
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(idat), CompressionMode.Decompress))
        {
            await zlib.CopyToAsync(inflated);
        }

        Assert.Equal((long)(1 + width) * height, inflated.Length);
    }

    [Fact]
    public async Task Images_are_deterministic_per_name_and_differ_between_tasks()
    {
        var first = await host.Client.GetByteArrayAsync("simulator/files/task-a_64x32.png");
        var again = await host.Client.GetByteArrayAsync("simulator/files/task-a_64x32.png");
        var other = await host.Client.GetByteArrayAsync("simulator/files/task-b_64x32.png");

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task A_result_link_expires_and_a_padded_or_broken_file_is_served_as_its_marker_asks()
    {
        using var create = await host.PostAsync("evolink/v1/images/generations", new { model = "gpt-image-1.5", prompt = "a cat [sim:delay=0;url-lifetime=5000;file-bytes=300000]" });
        var id = (await SimulatorHost.Json(create)).GetProperty("id").GetString()!;
        var url = (await host.EvolinkWhenAsync(id, t => t.GetProperty("status").GetString() == "completed")).GetProperty("results")[0].GetString()!;

        var padded = await host.Client.GetByteArrayAsync(url);
        Assert.InRange(padded.Length, 300_000, 300_100);
        var chunks = Chunks(padded).Select(c => c.Type).ToList();
        Assert.Equal(["IHDR", "PLTE", "IDAT", "siMu", "IEND"], chunks);
        await Eventually.UntilAsync(
            async () => (await host.Client.GetAsync(url)).StatusCode == System.Net.HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(20),
            "the link to expire");

        var broken = await host.Client.GetAsync("simulator/files/task-a_64x32.png?broken=1");
        Assert.Equal("image/png", broken.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("<html>", await broken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_file_request_is_404()
    {
        using var response = await host.Client.GetAsync("simulator/files/x_100000x2.png");

        Assert.Equal(404, (int)response.StatusCode);
    }

    /// <summary>Walks the chunks, checking each CRC against an independent bitwise CRC-32.</summary>
    private static IEnumerable<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        var offset = 8;
        while (offset < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length).ToArray();
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(BitwiseCrc32(png.AsSpan(offset + 4, 4 + length)), crc);
            yield return (type, data);
            offset += 12 + length;
        }
    }

    private static uint BitwiseCrc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
