using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;

namespace EventImaging.ProviderSimulator.Files;

/// <summary>
/// Builds real, decodable PNGs. The image is a palette image (colour type 3): the pixel data
/// only says "colour 0 or colour 1", so the compressed IDAT depends on the size alone and is
/// built once per size, while the per-task colours live in the tiny PLTE chunk. Serving a
/// 1536x1024 result then costs a few hundred bytes of work instead of compressing megabytes.
/// </summary>
internal static class PngImage
{
    public const int MaxSide = 4096;

    private const int StripeWidth = 64;

    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly ConcurrentDictionary<(int Width, int Height), byte[]> PixelChunks = new();

    /// <summary>The PNG of one task; <paramref name="padTo"/> bytes or more when given (a private ancillary chunk, which decoders skip).</summary>
    public static byte[] Render(int width, int height, string seed, int padTo = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, MaxSide);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, MaxSide);

        using var png = new MemoryStream();
        png.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bit depth
        header[9] = 3; // palette
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering
        header[12] = 0; // no interlace
        WriteChunk(png, "IHDR", header);
        WriteChunk(png, "PLTE", Palette(seed));
        png.Write(PixelChunks.GetOrAdd((width, height), static size => BuildPixelChunk(size.Width, size.Height)));
        // 12 bytes of chunk framing each for the padding and IEND.
        var padding = padTo - (int)png.Length - 24;
        if (padding > 0)
        {
            // "siMu": ancillary, private, safe to copy: every decoder skips it. Varied bytes, so nothing compresses it away.
            var data = new byte[padding];
            new Random(padding).NextBytes(data);
            WriteChunk(png, "siMu", data);
        }

        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>Two colours derived from the seed (the task id), so every task's image is recognisably its own.</summary>
    private static byte[] Palette(string seed)
    {
        var hash = Crc32.Compute(Encoding.UTF8.GetBytes(seed));
        var r = (byte)(hash >> 24);
        var g = (byte)(hash >> 16);
        var b = (byte)(hash >> 8);
        return [r, g, b, (byte)(255 - r), (byte)(255 - g), (byte)(255 - b)];
    }

    private static byte[] BuildPixelChunk(int width, int height)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            // Diagonal stripes, so a viewer can tell a rendered image from an empty or broken one.
            var row = new byte[1 + width];
            for (var y = 0; y < height; y++)
            {
                row[0] = 0; // filter: none
                for (var x = 0; x < width; x++)
                {
                    row[1 + x] = (byte)(((x + y) / StripeWidth) & 1);
                }

                zlib.Write(row);
            }
        }

        using var chunk = new MemoryStream();
        WriteChunk(chunk, "IDAT", compressed.ToArray());
        return chunk.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);

        Span<byte> typeBytes = stackalloc byte[4];
        Encoding.ASCII.GetBytes(type, typeBytes);
        stream.Write(typeBytes);
        stream.Write(data);

        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Compute(typeBytes, data));
        stream.Write(crc);
    }
}
