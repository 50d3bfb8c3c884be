using System.Text.Json;

namespace EventImaging.Core.Providers.Evolink;

/// <summary>
/// Reads evolink's task objects and error bodies in every published shape (PROVIDERS.md §1): string or
/// numeric <c>error.code</c>, a failed task with no <c>error</c>, unknown statuses, <c>cancelled</c>.
/// Hand-written over <see cref="JsonDocument"/> because the shapes vary by field type, which typed
/// deserialisation would reject.
/// </summary>
internal static class EvolinkPayloads
{
    public static ProviderTask ReadTask(ReadOnlySpan<byte> json)
    {
        try
        {
            return ReadTaskOrThrow(json);
        }
        catch (InvalidOperationException ex)
        {
            // A string that is not valid text (a lone surrogate escape, bytes that are not UTF-8).
            throw new ProviderPayloadException("The evolink task body holds text that cannot be read.", ex);
        }
    }

    private static ProviderTask ReadTaskOrThrow(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            throw new ProviderPayloadException("The evolink task body is not valid JSON.", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ProviderPayloadException("The evolink task body is not a JSON object.");
            }

            var id = JsonFields.TaskId(root, "id", "evolink");

            var statusText = JsonFields.String(root, "status")?.Trim().ToLowerInvariant();
            var status = statusText switch
            {
                "completed" or "succeeded" or "success" => ProviderTaskStatus.Completed,
                "failed" or "error" => ProviderTaskStatus.Failed,
                "cancelled" or "canceled" => ProviderTaskStatus.Cancelled,
                _ => ProviderTaskStatus.Running,
            };

            var results = ReadResults(root);
            if (status == ProviderTaskStatus.Completed && results.Count == 0)
            {
                throw new ProviderPayloadException($"The evolink task {id} is completed but carries no results.");
            }

            ProviderFailure? failure = null;
            if (status is ProviderTaskStatus.Failed or ProviderTaskStatus.Cancelled)
            {
                var (code, message) = ReadError(root);
                failure = EvolinkErrors.ForTask(code, message, status == ProviderTaskStatus.Cancelled);
            }

            return new ProviderTask(
                id,
                status,
                JsonFields.Int(root, "progress", 0, 100),
                results,
                failure,
                root.TryGetProperty("task_info", out var info) && info.ValueKind == JsonValueKind.Object ? JsonFields.Int(info, "estimated_time", 0, MaxEstimatedSeconds) : null,
                root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object ? JsonFields.Number(usage, "credits_reserved") : null);
        }
    }

    /// <summary>Reads <c>{"error": {"code", "message"}}</c>; null values where the body has another shape.</summary>
    public static (string? Code, string? Message) ReadErrorBody(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object ? ReadError(document.RootElement) : (null, null);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return (null, null);
        }
    }

    private static (string? Code, string? Message) ReadError(JsonElement root)
    {
        if (!root.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
        {
            return (null, null);
        }

        return (JsonFields.Text(error, "code", JsonFields.MaxCodeLength), JsonFields.Text(error, "message", JsonFields.MaxMessageLength));
    }

    private static List<string> ReadResults(JsonElement root) =>
        root.TryGetProperty("results", out var results) && results.ValueKind == JsonValueKind.Array
            ? JsonFields.Urls(results.EnumerateArray().Where(item => item.ValueKind == JsonValueKind.String).Select(item => item.GetString()))
            : [];

    /// <summary>An estimate past a day is no estimate: the longest deadline is a day.</summary>
    private const int MaxEstimatedSeconds = 86_400;
}
