using System.Globalization;
using System.Text.Json;
using EventImaging.Core.Requests;

namespace EventImaging.Core.Providers;

/// <summary>
/// Tolerant, bounded field reads shared by the provider payload readers, whose documents disagree on field types. Every
/// value a provider sends is read as its type or not at all, and cut to what EventImaging stores or repeats: a number
/// outside every range, a huge message or a task id longer than its column never throws past here.
/// </summary>
internal static class JsonFields
{
    /// <summary>A provider's error message, as it is repeated in an event.</summary>
    public const int MaxMessageLength = 1000;

    /// <summary>A provider's own error code.</summary>
    public const int MaxCodeLength = 64;

    /// <summary>Result images per task: the providers make one (evolink documents <c>n</c> as 1).</summary>
    public const int MaxResults = 16;

    /// <summary>A string field, or a number field read as its text (an error code may be either); null when it is not valid text.</summary>
    public static string? String(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }

        try
        {
            return value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            };
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate: no text to keep.
            return null;
        }
    }

    /// <summary><see cref="String"/>, cut to <paramref name="maxLength"/> characters.</summary>
    public static string? Text(JsonElement element, string name, int maxLength) =>
        String(element, name) is { } text ? CallerText.Shorten(text, maxLength) : null;

    /// <summary>A finite number field, or a string field holding one; null for anything else (1e999 included).</summary>
    public static double? Number(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }

        var number = value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetDouble(out var parsed) => parsed,
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => double.NaN,
        };
        return double.IsFinite(number) ? number : null;
    }

    /// <summary>A number field as a whole number within [<paramref name="min"/>, <paramref name="max"/>]; null outside it.</summary>
    public static int? Int(JsonElement element, string name, int min, int max) =>
        Number(element, name) is { } number && number >= min && number <= max ? (int)Math.Round(number) : null;

    /// <summary>The task id: required, and refused (the body is unreadable) when it could not be stored or sent back.</summary>
    public static string TaskId(JsonElement element, string name, string provider)
    {
        var id = String(element, name);
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new ProviderPayloadException($"The {provider} body has no {name}.");
        }

        if (id.Length > Ledger.LedgerDbContext.TaskIdLength || id.Any(char.IsControl))
        {
            throw new ProviderPayloadException(
                $"The {provider} body's {name} is {id.Length} characters or holds control characters; at most {Ledger.LedgerDbContext.TaskIdLength} printable ones are accepted.");
        }

        return id;
    }

    /// <summary>A result URL: presigned storage links with session tokens run to a few KB.</summary>
    public const int MaxResultUrlLength = 16 * 1024;

    /// <summary>Result URLs: absolute http(s) URLs of a sane length, at most <see cref="MaxResults"/>; anything else is skipped.</summary>
    public static List<string> Urls(IEnumerable<string?> candidates) =>
        [.. candidates
            .Where(url => url is { Length: > 0 and <= MaxResultUrlLength }
                && Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
            .Select(url => url!)
            .Take(MaxResults)];
}
