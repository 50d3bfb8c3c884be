using System.Text.Json;
using EventImaging.Contracts;

namespace EventImaging.Core.Providers.GptImage15;

/// <summary>
/// Reads gptimage15.ai's bodies in every published shape (PROVIDERS.md §2): <c>status</c> as text
/// (PENDING, IN_PROGRESS, SUCCESS, FAILED) or number (0, 1, -1); <c>response</c> as an array, a JSON string
/// holding the array, or null; <c>consumed_credits</c> or <c>consumed_credit</c>; a callback body that is the
/// whole status response or only its <c>data</c>. Hand-written over <see cref="JsonDocument"/> because the
/// shapes differ in field types.
/// </summary>
internal static class GptImage15Payloads
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
            throw new ProviderPayloadException("The gptimage15 body holds text that cannot be read.", ex);
        }
    }

    private static ProviderTask ReadTaskOrThrow(ReadOnlySpan<byte> json)
    {
        using var document = Parse(json);
        var root = document.RootElement;
        var data = root.TryGetProperty("data", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : root;
        var id = JsonFields.TaskId(data, "task_id", "gptimage15");

        var status = ReadStatus(data);
        var results = ReadResponse(data);
        if (status == ProviderTaskStatus.Completed && results.Count == 0)
        {
            throw new ProviderPayloadException($"The gptimage15 task {id} succeeded but carries no image URLs.");
        }

        var credits = JsonFields.Number(data, "consumed_credits") ?? JsonFields.Number(data, "consumed_credit");
        var failure = status == ProviderTaskStatus.Failed ? ForTask(JsonFields.Text(data, "error_message", JsonFields.MaxMessageLength)) : null;
        return new ProviderTask(id, status, status == ProviderTaskStatus.Completed ? 100 : null, results, failure, null, credits);
    }

    /// <summary>The envelope's <c>code</c> and <c>message</c>: errors come as <c>{"code":400,"message":"…","data":null}</c>.</summary>
    public static (int? Code, string? Message) ReadEnvelope(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = Parse(json);
            var root = document.RootElement;
            return (JsonFields.Int(root, "code", int.MinValue, int.MaxValue), JsonFields.Text(root, "message", JsonFields.MaxMessageLength));
        }
        catch (Exception ex) when (ex is ProviderPayloadException or InvalidOperationException)
        {
            return (null, null);
        }
    }

    /// <summary>A failed task: only a free-text <c>error_message</c> is documented, so the class is read from it.</summary>
    public static ProviderFailure ForTask(string? message)
    {
        var text = message ?? "The provider reported the task as failed without a reason.";
        return text.Contains("content policy", StringComparison.OrdinalIgnoreCase) || text.Contains("safety", StringComparison.OrdinalIgnoreCase)
            ? new(FailureCodes.ContentPolicyViolation, "content_policy_violation", text, false)
            : new(FailureCodes.ProviderError, null, text, true);
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new ProviderPayloadException("The gptimage15 body is not a JSON object.");
            }

            return document;
        }
        catch (JsonException ex)
        {
            throw new ProviderPayloadException("The gptimage15 body is not valid JSON.", ex);
        }
    }

    private static ProviderTaskStatus ReadStatus(JsonElement data)
    {
        if (!data.TryGetProperty("status", out var status))
        {
            return ProviderTaskStatus.Running;
        }

        return status.ValueKind switch
        {
            JsonValueKind.Number when status.TryGetInt32(out var n) => n switch
            {
                1 => ProviderTaskStatus.Completed,
                -1 => ProviderTaskStatus.Failed,
                _ => ProviderTaskStatus.Running,
            },
            JsonValueKind.String => status.GetString()?.Trim().ToUpperInvariant() switch
            {
                "SUCCESS" or "SUCCEEDED" or "COMPLETED" or "1" => ProviderTaskStatus.Completed,
                "FAILED" or "FAILURE" or "ERROR" or "-1" => ProviderTaskStatus.Failed,
                "CANCELLED" or "CANCELED" => ProviderTaskStatus.Cancelled,
                _ => ProviderTaskStatus.Running,
            },
            _ => ProviderTaskStatus.Running,
        };
    }

    private static List<string> ReadResponse(JsonElement data)
    {
        if (!data.TryGetProperty("response", out var response))
        {
            return [];
        }

        if (response.ValueKind == JsonValueKind.String)
        {
            // Some versions send the array as a JSON string: "[\"https://…png\"]".
            var text = response.GetString();
            if (string.IsNullOrWhiteSpace(text))
            {
                return [];
            }

            if (!text.TrimStart().StartsWith('['))
            {
                return JsonFields.Urls([text]);
            }

            using var inner = Parse(System.Text.Encoding.UTF8.GetBytes($$"""{"response":{{text}}}"""));
            return ReadResponse(inner.RootElement);
        }

        return response.ValueKind != JsonValueKind.Array
            ? []
            : JsonFields.Urls(response.EnumerateArray().Where(u => u.ValueKind == JsonValueKind.String).Select(u => u.GetString()));
    }
}
