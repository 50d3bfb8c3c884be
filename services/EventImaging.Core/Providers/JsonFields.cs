using System.Globalization;
using System.Text.Json;

namespace EventImaging.Core.Providers;

/// <summary>Tolerant field reads shared by the provider payload readers, whose documents disagree on field types.</summary>
internal static class JsonFields
{
    /// <summary>A string field, or a number field read as its text (an error code may be either).</summary>
    public static string? String(JsonElement element, string name) =>
        !element.TryGetProperty(name, out var value) ? null : value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };

    /// <summary>A number field, or a string field holding a number.</summary>
    public static double? Number(JsonElement element, string name) =>
        !element.TryGetProperty(name, out var value) ? null : value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };
}
