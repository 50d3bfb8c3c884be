using System.Text.Json;

namespace EventImaging.ProviderSimulator.Evolink;

/// <summary>A create body that passed evolink's documented rules.</summary>
internal sealed record EvolinkCreateRequest(string ReportedModel, string Prompt, string Size, string Quality, Uri? CallbackUrl)
{
    public const int MaxPromptLength = 2000;
    public const int MaxImageUrls = 16;

    private static readonly string[] Models = ["gpt-image-1.5", "gpt-image-1.5-beta", "gpt-image-1.5-lite"];
    private static readonly string[] Sizes = ["1:1", "2:3", "3:2", "1024x1024", "1024x1536", "1536x1024"];
    private static readonly string[] Qualities = ["low", "medium", "high"];

    /// <returns>Null when valid; otherwise the offending field and a message naming it.</returns>
    public static (EvolinkCreateRequest? Request, string? Param, string? Message) Parse(JsonElement? json, bool allowInsecureCallbacks)
    {
        if (json is not { ValueKind: JsonValueKind.Object } body)
        {
            return Invalid("body", "Request body must be a JSON object");
        }

        var model = String(body, "model");
        if (model is null || !Models.Contains(model))
        {
            return Invalid("model", $"'model' is required and must be one of {string.Join(", ", Models)}");
        }

        var beta = model != "gpt-image-1.5";
        var prompt = String(body, "prompt");
        if (string.IsNullOrWhiteSpace(prompt))
        {
            return Invalid("prompt", "'prompt' is required and must not be blank");
        }

        // The docs limit the prompt to 2000 tokens; a token is at least one character, so
        // refusing more than 2000 characters never accepts what the provider would refuse.
        if (prompt.Length > MaxPromptLength)
        {
            return Invalid("prompt", $"'prompt' must be at most {MaxPromptLength} characters");
        }

        var size = "1:1";
        if (Present(body, "size", out var sizeElement))
        {
            size = sizeElement.ValueKind == JsonValueKind.String ? sizeElement.GetString()! : "";
            if (!Sizes.Contains(size))
            {
                return Invalid("size", $"'size' must be one of {string.Join(", ", Sizes)}");
            }
        }

        var quality = beta ? "auto" : "high";
        if (Present(body, "quality", out var qualityElement))
        {
            quality = qualityElement.ValueKind == JsonValueKind.String ? qualityElement.GetString()! : "";
            if (!Qualities.Contains(quality) && !(beta && quality == "auto"))
            {
                return Invalid("quality", beta
                    ? "'quality' must be one of low, medium, high, auto"
                    : "'quality' must be one of low, medium, high ('auto' is only accepted by gpt-image-1.5-beta)");
            }
        }

        if (Present(body, "image_urls", out var images))
        {
            if (images.ValueKind != JsonValueKind.Array || images.GetArrayLength() is < 1 or > MaxImageUrls)
            {
                return Invalid("image_urls", $"'image_urls' must be an array of 1 to {MaxImageUrls} URLs");
            }

            foreach (var image in images.EnumerateArray())
            {
                if (image.ValueKind != JsonValueKind.String || !IsHttpUrl(image.GetString()))
                {
                    return Invalid("image_urls", "'image_urls' entries must be absolute http(s) URLs");
                }
            }
        }

        if (Present(body, "n", out var n) && !(n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var count) && count == 1))
        {
            return Invalid("n", "'n' only supports 1");
        }

        Uri? callback = null;
        if (Present(body, "callback_url", out var callbackElement))
        {
            var url = callbackElement.ValueKind == JsonValueKind.String ? callbackElement.GetString()! : "";
            if (CallbackUrlRules.Problem(url, allowInsecureCallbacks) is { } problem)
            {
                return Invalid("callback_url", problem);
            }

            callback = new Uri(url);
        }

        // The alias is accepted but the provider reports the model it actually ran.
        var reported = model == "gpt-image-1.5-lite" ? "gpt-image-1.5-beta" : model;
        return (new EvolinkCreateRequest(reported, prompt, size, quality, callback), null, null);
    }

    internal static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    private static (EvolinkCreateRequest?, string?, string?) Invalid(string param, string message) => (null, param, message);

    private static string? String(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>An explicit JSON null counts as absent, as it does for most JSON APIs.</summary>
    private static bool Present(JsonElement body, string name, out JsonElement value) =>
        body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
}
