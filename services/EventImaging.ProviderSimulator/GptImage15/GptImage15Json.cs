using System.Globalization;
using System.Text.Json.Nodes;
using EventImaging.ProviderSimulator.Behaviour;
using EventImaging.ProviderSimulator.Files;
using EventImaging.ProviderSimulator.Tasks;

namespace EventImaging.ProviderSimulator.GptImage15;

/// <summary>gptimage15.ai bodies, including every published variant of the status body (see <see cref="GptImage15Shape"/>).</summary>
internal static class GptImage15Json
{
    public const int CreditsPerGeneration = 10;

    public static JsonObject Created(string taskId) => new()
    {
        ["code"] = 200,
        ["data"] = new JsonObject { ["task_id"] = taskId, ["status"] = "IN_PROGRESS" },
    };

    public static JsonObject Status(SimulatedTask task, TaskSnapshot snapshot, string baseUrl)
    {
        var body = new JsonObject { ["code"] = 200 };
        if (snapshot.Phase is TaskPhase.Failed or TaskPhase.Cancelled)
        {
            // Only the documented failure example carries a message.
            body["message"] = "success";
        }

        body["data"] = Data(task, snapshot, baseUrl);
        return body;
    }

    /// <summary>The callback body is undocumented: the whole status response by default, the data object on request.</summary>
    public static JsonObject Callback(SimulatedTask task, TaskSnapshot snapshot, string baseUrl) =>
        task.Behaviour.Shape.CallbackDataOnly ? Data(task, snapshot, baseUrl) : Status(task, snapshot, baseUrl);

    public static JsonObject Error(int status, string? message = null) => new()
    {
        ["code"] = status,
        ["message"] = message ?? DefaultMessage(status),
        ["data"] = null,
    };

    private static JsonObject Data(SimulatedTask task, TaskSnapshot snapshot, string baseUrl)
    {
        var shape = task.Behaviour.Shape;
        var failed = snapshot.Phase is TaskPhase.Failed or TaskPhase.Cancelled;
        JsonNode? response = snapshot.Phase == TaskPhase.Completed
            ? new JsonArray(ResultFiles.Url(baseUrl, task))
            : null;

        var data = new JsonObject
        {
            ["task_id"] = task.Id,
            ["status"] = StatusValue(snapshot.Phase, shape.NumericStatus),
            [shape.SingularCreditField ? "consumed_credit" : "consumed_credits"] = failed ? 0 : CreditsPerGeneration,
            ["error_message"] = failed ? ErrorMessage(task, snapshot.Phase) : null,
            ["created_at"] = shape.PlainTimestamps
                ? task.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)
                : task.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
        if (snapshot.IsTerminal)
        {
            JsonNode request = JsonNode.Parse(task.Request.GetRawText())!;
            data["request"] = shape.ResponseAsString ? request.ToJsonString(JsonReply.Wire) : request;
        }

        data["response"] = shape.ResponseAsString && response is not null ? response.ToJsonString(JsonReply.Wire) : response;
        return data;
    }

    private static JsonNode StatusValue(TaskPhase phase, bool numeric) => (phase, numeric) switch
    {
        (TaskPhase.Completed, true) => 1,
        (TaskPhase.Failed or TaskPhase.Cancelled, true) => -1,
        (_, true) => 0,
        (TaskPhase.Pending, false) => "PENDING",
        (TaskPhase.Processing, false) => "IN_PROGRESS",
        (TaskPhase.Completed, false) => "SUCCESS",
        _ => "FAILED",
    };

    private static string? ErrorMessage(SimulatedTask task, TaskPhase phase) =>
        phase == TaskPhase.Cancelled ? "Task cancelled"
        : task.Behaviour.FailureCode switch
        {
            null => null,
            "content_policy_violation" => "Content policy violation detected",
            var code => $"Image generation failed ({code})",
        };

    private static string DefaultMessage(int status) => status switch
    {
        400 => "Bad Request: invalid parameters.",
        401 => "Unauthorized: API key is missing or invalid.",
        402 => "Payment Required: insufficient credits.",
        403 => "Forbidden: access denied.",
        404 => "Not Found: task not found.",
        413 => "Payload Too Large.",
        429 => "Too Many Requests: rate limit exceeded.",
        502 => "Bad Gateway.",
        503 => "Service Unavailable.",
        _ => "Internal Server Error: please retry or contact support.",
    };
}
