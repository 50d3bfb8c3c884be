using System.Security.Cryptography;

namespace EventImaging.Core.Messaging;

/// <summary>
/// Stable message ids derived from the request id, so a republished event is recognisable as the same one.
/// The terminal event's id is the request id itself; others are name-based (RFC 9562 version 5) from it.
/// </summary>
public static class MessageIds
{
    public static Guid Terminal(Guid requestId) => requestId;

    public static Guid Submitted(Guid requestId) => NameBased(requestId, "submitted");

    /// <summary>The answer to a command that has no request id, named after the command itself: the same command, the same id.</summary>
    public static Guid Unkeyed(string commandJson) => NameBased(UnkeyedNamespace, commandJson);

    private static readonly Guid UnkeyedNamespace = new("6f1c2a4e-0b7d-4c39-9a51-3e8f2d7b6c10");

    // Hand-written: .NET has no name-based UUID generator.
    private static Guid NameBased(Guid namespaceId, string name)
    {
        Span<byte> input = stackalloc byte[16 + System.Text.Encoding.UTF8.GetByteCount(name)];
        namespaceId.TryWriteBytes(input[..16], bigEndian: true, out _);
        System.Text.Encoding.UTF8.GetBytes(name, input[16..]);
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 version 5 specifies; this is an identifier, not a signature.
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
