using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace EventImaging.IntegrationTests.Archiving;

/// <summary>Real PNG files for the store tests: noise, so they do not compress and span many upload buffers.</summary>
internal static class TestImages
{

    /// <summary>Writes a <paramref name="size"/>×<paramref name="size"/> RGB PNG of seeded noise to a new temp file.</summary>
    public static string WritePng(string directory, int size, int seed)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{Guid.NewGuid():N}.png");
        File.WriteAllBytes(path, Png(size, seed));
        return path;
    }

    public static byte[] Png(int size, int seed)
    {
        var random = new Random(seed);
        var raw = new byte[size * ((size * 3) + 1)];
        random.NextBytes(raw);
        for (var row = 0; row < size; row++)
        {
            raw[row * ((size * 3) + 1)] = 0; // filter: none
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, size);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), size);
        header[8] = 8; // bit depth
        header[9] = 2; // truecolour

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, System.IO.Hashing.Crc32.HashToUInt32(typed));
        png.Write(word);
    }
}
