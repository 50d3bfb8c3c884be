using System.Text;

namespace EventImaging.Core.Requests;

/// <summary>
/// What a command's <c>metadata</c> may hold. It is echoed on every event, so it is bounded in entries, in each key and
/// value, and in all; metadata that breaks a rule is not echoed, not even on the <c>ImageFailed</c> that names it.
/// </summary>
public static class MetadataRules
{
    public const int MaxEntries = 32;
    public const int MaxKeyLength = 64;
    public const int MaxValueLength = 1024;

    /// <summary>All keys and values together, in UTF-8 bytes.</summary>
    public const int MaxTotalBytes = 4096;

    public static readonly string Rule =
        $"metadata must hold at most {MaxEntries} entries, keys of 1 to {MaxKeyLength} characters, string values of at most {MaxValueLength}, and at most {MaxTotalBytes} bytes in all.";

    public static bool IsValid(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return true;
        }

        if (metadata.Count > MaxEntries)
        {
            return false;
        }

        var total = 0;
        foreach (var (key, value) in metadata)
        {
            if (key.Length is 0 or > MaxKeyLength || value is null || value.Length > MaxValueLength)
            {
                return false;
            }

            total += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
        }

        return total <= MaxTotalBytes;
    }
}
