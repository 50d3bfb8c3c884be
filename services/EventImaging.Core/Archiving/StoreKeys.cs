namespace EventImaging.Core.Archiving;

/// <summary>
/// What a store key may be, the same for every store: <c>/</c>-separated segments of printable characters, none of them
/// empty or starting with a dot (so no <c>.</c>, <c>..</c> or hidden names), no backslash or colon. Such a key can neither
/// leave a directory store's root nor name one of its temporary files, and reads the same in S3.
/// </summary>
internal static class StoreKeys
{
    public const int MaxLength = 1024;

    public static bool IsValid(string? key) => Problem(key) is null;

    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong with <paramref name="key"/>.</summary>
    public static string[] Segments(string key)
    {
        var problem = Problem(key);
        if (problem is not null)
        {
            throw new ArgumentException($"Image store key '{Printable(key)}' {problem}.", nameof(key));
        }

        return key.Split('/');
    }

    /// <summary><paramref name="baseUrl"/> (any trailing slash ignored), a slash, and the key with each segment URL-escaped.</summary>
    public static Uri UrlUnder(string baseUrl, string key) =>
        new($"{baseUrl.TrimEnd('/')}/{string.Join('/', Segments(key).Select(Uri.EscapeDataString))}", UriKind.Absolute);

    private static string? Problem(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "is empty";
        }

        if (key.Length > MaxLength)
        {
            return $"is longer than {MaxLength} characters";
        }

        if (key.Any(c => char.IsControl(c) || c is '\\' or ':'))
        {
            return "holds a backslash, a colon or a control character";
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "starts or ends with a slash or holds an empty segment";
            }

            if (segment[0] == '.')
            {
                return "holds a segment starting with a dot ('.', '..' or a hidden name)";
            }
        }

        return null;
    }

    private static string Printable(string? key) =>
        key is null ? string.Empty : new string([.. key.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);
}
