namespace EventImaging.Core.Requests;

/// <summary>
/// Caller-chosen text as EventImaging repeats it (in an error message, a stored column, an event): never longer than
/// asked, so a huge or hostile field cannot make a row, an event or a log line unbounded.
/// </summary>
public static class CallerText
{
    /// <summary><paramref name="value"/> cut to at most <paramref name="maxLength"/> characters, marked with an ellipsis when cut.</summary>
    public static string Shorten(string? value, int maxLength = 64)
    {
        if (value is null)
        {
            return "";
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
}
