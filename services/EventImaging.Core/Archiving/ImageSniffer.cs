using System.Buffers.Binary;

namespace EventImaging.Core.Archiving;

/// <summary>What the bytes of an image say it is.</summary>
public sealed record ImageFormat(string ContentType, string Extension, int Width, int Height);

/// <summary>
/// Tells PNG, JPEG and WebP apart by their bytes, and reads their dimensions from the headers, never trusting the
/// server's content type. Hand-written: the formats' headers are a few fixed fields, and an image library would decode
/// far more than this needs.
/// </summary>
public static class ImageSniffer
{
    /// <summary>How much of the file's start <see cref="Sniff"/> needs at most for PNG and WebP (JPEG reads on).</summary>
    public const int HeaderBytes = 32;

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The image in <paramref name="file"/> (read from its start), or null when it is none of PNG, JPEG or WebP.</summary>
    public static ImageFormat? Sniff(Stream file)
    {
        Span<byte> head = stackalloc byte[HeaderBytes];
        var read = file.ReadAtLeast(head, HeaderBytes, throwOnEndOfStream: false);
        head = head[..read];
        if (head.Length >= 24 && head.StartsWith(PngSignature) && head[12..16].SequenceEqual("IHDR"u8))
        {
            return Sized("image/png", "png", BinaryPrimitives.ReadInt32BigEndian(head[16..]), BinaryPrimitives.ReadInt32BigEndian(head[20..]));
        }

        if (head.Length >= 30 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8))
        {
            return WebP(head);
        }

        if (head.Length >= 4 && head[0] == 0xFF && head[1] == 0xD8)
        {
            file.Seek(2, SeekOrigin.Begin);
            return Jpeg(file);
        }

        return null;
    }

    private static ImageFormat? WebP(ReadOnlySpan<byte> head)
    {
        var chunk = head[12..16];
        if (chunk.SequenceEqual("VP8X"u8))
        {
            // 24-bit width and height, each stored less one.
            return Sized("image/webp", "webp", 1 + head[24] + (head[25] << 8) + (head[26] << 16), 1 + head[27] + (head[28] << 8) + (head[29] << 16));
        }

        if (chunk.SequenceEqual("VP8 "u8) && head[23] == 0x9D && head[24] == 0x01 && head[25] == 0x2A)
        {
            return Sized("image/webp", "webp", BinaryPrimitives.ReadUInt16LittleEndian(head[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(head[28..]) & 0x3FFF);
        }

        if (chunk.SequenceEqual("VP8L"u8) && head[20] == 0x2F)
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(head[21..]);
            return Sized("image/webp", "webp", (int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }

        return null;
    }

    /// <summary>Walks the JPEG's segments to its frame header (SOF0–SOF15, except the DHT, JPG and DAC markers).</summary>
    private static ImageFormat? Jpeg(Stream file)
    {
        Span<byte> marker = stackalloc byte[4];
        Span<byte> frame = stackalloc byte[5];
        while (file.ReadAtLeast(marker, 4, throwOnEndOfStream: false) == 4)
        {
            if (marker[0] != 0xFF)
            {
                return null;
            }

            var type = marker[1];
            var length = BinaryPrimitives.ReadUInt16BigEndian(marker[2..]);
            if (type is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return file.ReadAtLeast(frame, 5, throwOnEndOfStream: false) == 5
                    ? Sized("image/jpeg", "jpg", BinaryPrimitives.ReadUInt16BigEndian(frame[3..]), BinaryPrimitives.ReadUInt16BigEndian(frame[1..]))
                    : null;
            }

            if (length < 2 || type == 0xDA)
            {
                return null;
            }

            file.Seek(length - 2, SeekOrigin.Current);
        }

        return null;
    }

    private static ImageFormat? Sized(string contentType, string extension, int width, int height) =>
        width > 0 && height > 0 ? new ImageFormat(contentType, extension, width, height) : null;
}
