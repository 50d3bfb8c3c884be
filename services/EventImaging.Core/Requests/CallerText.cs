namespace EventImaging.Core.Requests;

/// <summary>
/// Caller-chosen text as EventImaging repeats it (in an error message, a stored column, an event): never longer than
/// asked, so a huge or hostile field cannot make a row, an event or a log line unbounded.
/// </summary>
public static class CallerText
{
    /// <summary>
    /// <paramref name="value"/> cut to at most <paramref name="maxLength"/> characters, marked with an ellipsis when cut,
    /// with control characters (NUL among them, which PostgreSQL text refuses) and unpaired surrogates replaced by U+FFFD.
    /// </summary>
    public static string Shorten(string? value, int maxLength = 64)
    {
        if (value is null)
        {
            return "";
        }

        if (value.AsSpan().IndexOfAnyInRange('\u0000', '\u001f') >= 0 || value.Contains('\u007f', StringComparison.Ordinal) || HasLoneSurrogate(value))
        {
            value = Clean(value);
        }

        if (value.Length <= maxLength)
        {
            return value;
        }

        var cut = maxLength - 1;
        // Never split a surrogate pair: the result must stay valid UTF-16 (and so valid UTF-8 on the wire).
        if (cut > 0 && char.IsHighSurrogate(value[cut - 1]))
        {
            cut--;
        }

        return string.Concat(value.AsSpan(0, cut), "…");
    }

    private static bool HasLoneSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static string Clean(string value)
    {
        var chars = value.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]) || char.IsControl(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }
}
