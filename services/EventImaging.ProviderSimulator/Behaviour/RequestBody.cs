using System.Text.Json;

namespace EventImaging.ProviderSimulator.Behaviour;

internal static class RequestBody
{
    /// <returns>The raw text, and the parsed JSON when it is JSON.</returns>
    public static async Task<(string Raw, JsonElement? Json)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body);
        var raw = await reader.ReadToEndAsync(cancellationToken);
        try
        {
            using var document = JsonDocument.Parse(raw);
            return (raw, document.RootElement.Clone());
        }
        catch (JsonException)
        {
            return (raw, null);
        }
    }

    public static string? PromptOf(JsonElement? body) =>
        body is { ValueKind: JsonValueKind.Object } obj
        && obj.TryGetProperty("prompt", out var prompt)
        && prompt.ValueKind == JsonValueKind.String
            ? prompt.GetString()
            : null;
}
