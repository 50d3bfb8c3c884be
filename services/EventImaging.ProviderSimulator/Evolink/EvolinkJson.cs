using System.Text.Json.Nodes;
using EventImaging.ProviderSimulator.Files;
using EventImaging.ProviderSimulator.Tasks;

namespace EventImaging.ProviderSimulator.Evolink;

/// <summary>evolink's task object and error bodies, field for field as documented.</summary>
internal static class EvolinkJson
{
    public static JsonObject Task(SimulatedTask task, TaskSnapshot snapshot, string baseUrl)
    {
        var taskInfo = new JsonObject { ["can_cancel"] = !snapshot.IsTerminal };
        if (!snapshot.IsTerminal)
        {
            taskInfo["estimated_time"] = EstimatedSeconds(snapshot.Remaining);
        }

        var body = new JsonObject
        {
            ["created"] = task.CreatedAt.ToUnixTimeSeconds(),
        };
        if (snapshot.Phase == TaskPhase.Failed && task.Behaviour.FailureCode is { } code)
        {
            body["error"] = new JsonObject
            {
                ["code"] = code,
                ["message"] = FailureMessage(code),
                ["type"] = "task_error",
            };
        }

        body["id"] = task.Id;
        body["model"] = task.Model;
        body["object"] = "image.generation.task";
        body["progress"] = snapshot.Progress;
        if (snapshot.Phase == TaskPhase.Completed)
        {
            body["results"] = new JsonArray(ResultFiles.Url(baseUrl, task));
        }

        body["status"] = snapshot.Phase.ToString().ToLowerInvariant();
        body["task_info"] = taskInfo;
        body["type"] = "image";
        body["usage"] = new JsonObject
        {
            ["billing_rule"] = "per_call",
            ["credits_reserved"] = CreditsReserved(task.Quality),
            ["user_group"] = "default",
        };
        return body;
    }

    /// <summary>Whole seconds, never 0 while running: a client that sleeps estimated_time must not spin.</summary>
    public static int EstimatedSeconds(TimeSpan remaining) => Math.Max(1, (int)Math.Ceiling(remaining.TotalSeconds));

    public static JsonObject InvalidRequest(string param, string message) => new()
    {
        ["error"] = new JsonObject
        {
            ["code"] = "invalid_request",
            ["message"] = message,
            ["type"] = "invalid_request_error",
            ["param"] = param,
        },
    };

    public static JsonObject TaskNotFound(string taskId) => Error("task_not_found", $"Task not found: {taskId}", "invalid_request_error");

    /// <summary>
    /// The documented body for each status. 413, 502 and 503 only appear in the version of the
    /// docs whose codes are integers, so they are emitted that way; clients must read both.
    /// </summary>
    public static JsonObject ForStatus(int status, string model) => status switch
    {
        400 => Error("invalid_request", "Invalid request parameters", "invalid_request_error"),
        401 => Error("unauthorized", "Invalid or expired token", "authentication_error"),
        402 => Error("insufficient_quota", "Insufficient quota. Please top up your account.", "insufficient_quota"),
        403 => Error("model_access_denied", $"Token does not have access to model: {model}", "invalid_request_error"),
        404 => Error("task_not_found", "Task not found", "invalid_request_error"),
        413 => Error(413, "Request entity too large: image_urls files exceed the size limit", "request_too_large"),
        429 => RateLimited(),
        502 => Error(502, "Bad gateway: upstream service error", "upstream_error", "Retry the request later"),
        503 => Error(503, "Service temporarily unavailable", "service_unavailable", "Retry the request later"),
        _ => Error("internal_error", "Internal server error", "api_error"),
    };

    private static JsonObject RateLimited()
    {
        var body = Error("rate_limit_exceeded", "Too many requests, please try again later", "rate_limit_error");
        body["error"]!["fallback_suggestion"] = "retry after 60 seconds";
        return body;
    }

    private static JsonObject Error(JsonNode code, string message, string type, string? fallbackSuggestion = null)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message, ["type"] = type };
        if (fallbackSuggestion is not null)
        {
            error["fallback_suggestion"] = fallbackSuggestion;
        }

        return new JsonObject { ["error"] = error };
    }

    private static string FailureMessage(string code) => code switch
    {
        "content_policy_violation" => "Content policy violation.",
        "generation_timeout" => "Generation timed out.",
        "service_unavailable" => "Service temporarily unavailable.",
        "request_cancelled" => "The request was cancelled.",
        _ => $"Image generation failed ({code}).",
    };

    private static double CreditsReserved(string quality) => quality switch
    {
        "low" => 1.2,
        "medium" => 2.5,
        _ => 5.0,
    };
}
