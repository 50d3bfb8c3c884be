using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventImaging.Contracts;

namespace EventImaging.Core.Messaging;

/// <summary>
/// A <see cref="GenerateImage"/> whose body had fields of the wrong JSON type (a string where an array belongs, a number
/// in <c>metadata</c>): those fields are left unset and <see cref="FieldErrors"/> names each, so the validator answers
/// the caller with an <c>ImageFailed</c> instead of the command going to the error queue unanswered.
/// </summary>
public sealed record PartlyReadGenerateImage : GenerateImage
{
    [SetsRequiredMembers]
    public PartlyReadGenerateImage(GenerateImage readable, IReadOnlyList<string> fieldErrors)
        : base(readable)
    {
        FieldErrors = fieldErrors;
    }

    public IReadOnlyList<string> FieldErrors { get; }
}

/// <summary>
/// Reads a <see cref="GenerateImage"/> field by field, so that one field of the wrong type costs only that field
/// (<see cref="PartlyReadGenerateImage"/>). Only a body that is not a JSON object, or whose <c>requestId</c> is present
/// but not a GUID, is unreadable: there is nobody to answer, so it goes to the error queue. Hand-written because
/// System.Text.Json fails a whole object on its first bad member.
/// </summary>
public sealed class GenerateImageJson : JsonConverter<GenerateImage>
{
    public override GenerateImage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException($"A GenerateImage must be a JSON object, not {root.ValueKind}.");
        }

        var errors = new List<string>();
        Guid requestId = default;
        string? prompt = null, size = null, quality = null, inputFidelity = null, provider = null, model = null;
        string[]? imageUrls = null;
        DateTimeOffset? deadline = null;
        Dictionary<string, string>? metadata = null;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            if (NameOf(property) is not { } name)
            {
                // A member name that is not valid text is no member of the contract: ignored, as unknown members are.
                continue;
            }

            switch (name.ToLowerInvariant())
            {
                case "requestid":
                    requestId = RequestIdOf(value);
                    break;
                case "prompt":
                    prompt = Text(value, "prompt", errors);
                    break;
                case "size":
                    size = Text(value, "size", errors);
                    break;
                case "quality":
                    quality = Text(value, "quality", errors);
                    break;
                case "inputfidelity":
                    inputFidelity = Text(value, "inputFidelity", errors);
                    break;
                case "provider":
                    provider = Text(value, "provider", errors);
                    break;
                case "model":
                    model = Text(value, "model", errors);
                    break;
                case "imageurls":
                    imageUrls = Texts(value, errors);
                    break;
                case "deadline":
                    deadline = Instant(value, errors);
                    break;
                case "metadata":
                    metadata = Map(value, errors);
                    break;
            }
        }

        var command = new GenerateImage
        {
            RequestId = requestId,
            Prompt = prompt!,
            Size = size,
            Quality = quality,
            ImageUrls = imageUrls,
            InputFidelity = inputFidelity,
            Provider = provider,
            Model = model,
            Deadline = deadline,
            Metadata = metadata,
        };
        return errors.Count == 0 ? command : new PartlyReadGenerateImage(command, errors);
    }

    public override void Write(Utf8JsonWriter writer, GenerateImage value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("requestId", value.RequestId);
        WriteIfSet(writer, "prompt", value.Prompt);
        WriteIfSet(writer, "size", value.Size);
        WriteIfSet(writer, "quality", value.Quality);
        if (value.ImageUrls is { } urls)
        {
            writer.WriteStartArray("imageUrls");
            foreach (var url in urls)
            {
                writer.WriteStringValue(url);
            }

            writer.WriteEndArray();
        }

        WriteIfSet(writer, "inputFidelity", value.InputFidelity);
        WriteIfSet(writer, "provider", value.Provider);
        WriteIfSet(writer, "model", value.Model);
        if (value.Deadline is { } deadline)
        {
            writer.WriteString("deadline", deadline);
        }

        if (value.Metadata is { } metadata)
        {
            writer.WriteStartObject("metadata");
            foreach (var (key, text) in metadata)
            {
                writer.WriteString(key, text);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static Guid RequestIdOf(JsonElement value)
    {
        try
        {
            return value.ValueKind switch
            {
                JsonValueKind.Null => Guid.Empty,
                JsonValueKind.String when value.TryGetGuid(out var id) => id,
                // Nobody to answer: the command is unreadable as a whole.
                _ => throw new JsonException("requestId must be a GUID string."),
            };
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException("requestId must be a GUID string.", ex);
        }
    }

    private static string? NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The string, or null with an error when it is not valid text (an escaped lone surrogate).</summary>
    private static string? Decoded(JsonElement value, string name, List<string> errors)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            errors.Add($"{name} must be valid Unicode text.");
            return null;
        }
    }

    private static string? Text(JsonElement value, string name, List<string> errors)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return Decoded(value, name, errors);
            case JsonValueKind.Null:
                return null;
            default:
                errors.Add($"{name} must be a string, not {Kind(value)}.");
                return null;
        }
    }

    private static string[]? Texts(JsonElement value, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(item => item.ValueKind == JsonValueKind.String))
        {
            var before = errors.Count;
            string[] urls = [.. value.EnumerateArray().Select(item => Decoded(item, "imageUrls", errors) ?? "")];
            return errors.Count == before ? urls : null;
        }

        errors.Add($"imageUrls must be an array of URL strings, not {Kind(value)}.");
        return null;
    }

    private static DateTimeOffset? Instant(JsonElement value, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        try
        {
            if (value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var instant))
            {
                return instant;
            }
        }
        catch (InvalidOperationException)
        {
            // Not valid text: answered below like any other unreadable deadline.
        }

        errors.Add("deadline must be an ISO 8601 date and time with an offset, such as 2026-12-03T12:00:00Z.");
        return null;
    }

    private static Dictionary<string, string>? Map(JsonElement value, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Object && value.EnumerateObject().All(entry => entry.Value.ValueKind == JsonValueKind.String))
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in value.EnumerateObject())
            {
                if (NameOf(entry) is not { } key || Decoded(entry.Value, "metadata", errors) is not { } text)
                {
                    errors.Add("metadata must be valid Unicode text.");
                    return null;
                }

                map[key] = text;
            }

            return map;
        }

        errors.Add($"metadata must be an object whose values are strings, not {Kind(value)}.");
        return null;
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object when value.EnumerateObject().Any() => "an object with other values",
        JsonValueKind.Array => "an array with other values",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
