using System.Text.Json;
using EventImaging.ProviderSimulator.Evolink;

namespace EventImaging.ProviderSimulator.GptImage15;

/// <summary>A create body that passed gptimage15.ai's documented rules.</summary>
internal sealed record GptImage15CreateRequest(string Prompt, string Size, string Quality, Uri? CallbackUrl)
{
    public const int MaxPromptLength = 2000;

    private static readonly string[] Sizes = ["1024*1024", "1024*1536", "1536*1024"];
    private static readonly string[] Qualities = ["low", "medium", "high"];
    private static readonly string[] Fidelities = ["low", "high"];

    /// <returns>The request, or the documented "Bad Request: ..." message.</returns>
    public static (GptImage15CreateRequest? Request, string? Error) Parse(JsonElement? json)
    {
        if (json is not { ValueKind: JsonValueKind.Object } body)
        {
            return (null, "Bad Request: request body must be a JSON object.");
        }

        var prompt = Present(body, "prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        if (string.IsNullOrWhiteSpace(prompt))
        {
            return (null, "Bad Request: 'prompt' is required.");
        }

        if (prompt.Length > MaxPromptLength)
        {
            return (null, $"Bad Request: 'prompt' must be at most {MaxPromptLength} characters.");
        }

        var size = "1024*1024";
        if (Present(body, "size", out var s))
        {
            size = s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
            if (!Sizes.Contains(size))
            {
                return (null, $"Bad Request: 'size' must be one of {string.Join(", ", Sizes)}.");
            }
        }

        var quality = "medium";
        if (Present(body, "quality", out var q))
        {
            quality = q.ValueKind == JsonValueKind.String ? q.GetString()! : "";
            if (!Qualities.Contains(quality))
            {
                return (null, "Bad Request: 'quality' must be one of low, medium, high.");
            }
        }

        if (Present(body, "images", out var images)
            && (images.ValueKind != JsonValueKind.Array
                || images.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String || !EvolinkCreateRequest.IsHttpUrl(i.GetString()))))
        {
            return (null, "Bad Request: 'images' must be an array of image URLs.");
        }

        // Only meaningful with images, but the docs do not say it is refused without them.
        if (Present(body, "input_fidelity", out var f)
            && (f.ValueKind != JsonValueKind.String || !Fidelities.Contains(f.GetString())))
        {
            return (null, "Bad Request: 'input_fidelity' must be low or high.");
        }

        Uri? callback = null;
        if (Present(body, "callback_url", out var c))
        {
            if (c.ValueKind != JsonValueKind.String || !EvolinkCreateRequest.IsHttpUrl(c.GetString()))
            {
                return (null, "Bad Request: 'callback_url' must be an absolute http(s) URL.");
            }

            callback = new Uri(c.GetString()!);
        }

        return (new GptImage15CreateRequest(prompt, size, quality, callback), null);
    }

    private static bool Present(JsonElement body, string name, out JsonElement value) =>
        body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
}
