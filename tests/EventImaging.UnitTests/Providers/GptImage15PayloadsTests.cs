using System.Text;
using EventImaging.Contracts;
using EventImaging.Core.Providers;
using EventImaging.Core.Providers.GptImage15;

namespace EventImaging.UnitTests.Providers;

/// <summary>Every gptimage15.ai shape in PROVIDERS.md §2 and its API document.</summary>
public sealed class GptImage15PayloadsTests
{
    private static ProviderTask Read(string json) => GptImage15Payloads.ReadTask(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Create_response_is_a_running_task() =>
        Assert.Equal(
            new ProviderTask("n36abc123def456gptimg", ProviderTaskStatus.Running, null, [], null, null, null),
            Read("""{"code":200,"data":{"task_id":"n36abc123def456gptimg","status":"IN_PROGRESS"}}""") with { ResultUrls = [] },
            new TaskComparer());

    [Theory]
    [InlineData("\"PENDING\"", ProviderTaskStatus.Running)]
    [InlineData("\"IN_PROGRESS\"", ProviderTaskStatus.Running)]
    [InlineData("0", ProviderTaskStatus.Running)]
    [InlineData("\"QUEUED_SOMEWHERE\"", ProviderTaskStatus.Running)]
    [InlineData("-1", ProviderTaskStatus.Failed)]
    [InlineData("\"FAILED\"", ProviderTaskStatus.Failed)]
    public void Status_is_read_as_text_or_number(string status, ProviderTaskStatus expected) =>
        Assert.Equal(expected, Read($$$"""{"code":200,"data":{"task_id":"t","status":{{{status}}},"response":null}}""").Status);

    [Theory]
    [InlineData("\"SUCCESS\"")]
    [InlineData("1")]
    public void Success_as_text_or_number_carries_the_urls(string status)
    {
        var task = Read($$$"""{"code":200,"data":{"task_id":"t","status":{{{status}}},"response":["https://cdn.example.com/image.png"]}}""");
        Assert.Equal(ProviderTaskStatus.Completed, task.Status);
        Assert.Equal(["https://cdn.example.com/image.png"], task.ResultUrls);
    }

    [Fact]
    public void Response_as_a_json_string_is_unpacked()
    {
        var task = Read("""{"code":200,"data":{"task_id":"t","status":"SUCCESS","response":"[\"https://cdn.example.com/a.png\",\"https://cdn.example.com/b.png\"]"}}""");
        Assert.Equal(["https://cdn.example.com/a.png", "https://cdn.example.com/b.png"], task.ResultUrls);
    }

    [Theory]
    [InlineData("consumed_credits")]
    [InlineData("consumed_credit")]
    public void Both_credit_field_names_are_read(string field) =>
        Assert.Equal(10, Read($$$"""{"code":200,"data":{"task_id":"t","status":"IN_PROGRESS","{{{field}}}":10,"created_at":"2024-12-19 10:00:00"}}""").Credits);

    [Fact]
    public void Documented_failure_with_null_response_and_request_object_maps_content_policy()
    {
        var task = Read("""
            {"code":200,"message":"success","data":{"task_id":"n36abc123def456gptimg","status":"FAILED","consumed_credits":0,
             "error_message":"Content policy violation detected","created_at":"2024-12-19T10:00:00Z","request":{"prompt":"x"},"response":null}}
            """);
        Assert.Equal(ProviderTaskStatus.Failed, task.Status);
        Assert.Equal(FailureCodes.ContentPolicyViolation, task.Failure!.Code);
        Assert.False(task.Failure.Retryable);
        Assert.Equal(0, task.Credits);
    }

    [Fact]
    public void Failure_without_a_message_is_a_retryable_provider_error()
    {
        var task = Read("""{"code":200,"data":{"task_id":"t","status":-1,"request":"{\"prompt\":\"x\"}"}}""");
        Assert.Equal(FailureCodes.ProviderError, task.Failure!.Code);
        Assert.True(task.Failure.Retryable);
    }

    [Fact]
    public void A_callback_body_may_be_the_data_object_alone()
    {
        var task = Read("""{"task_id":"t","status":"SUCCESS","response":["https://cdn.example.com/a.png"]}""");
        Assert.Equal("t", task.TaskId);
        Assert.Equal(ProviderTaskStatus.Completed, task.Status);
    }

    [Theory]
    [InlineData("""{"code":200,"data":{"status":"SUCCESS"}}""")]
    [InlineData("""{"code":200,"data":{"task_id":"t","status":"SUCCESS","response":null}}""")]
    [InlineData("not json")]
    [InlineData("[]")]
    public void Unreadable_bodies_are_refused(string json) =>
        Assert.Throws<ProviderPayloadException>(() => Read(json));

    [Theory]
    [InlineData("""{"code":400,"message":"Bad Request: 'prompt' is required.","data":null}""", 400, "Bad Request: 'prompt' is required.")]
    [InlineData("""{"code":200,"data":{"task_id":"t"}}""", 200, null)]
    [InlineData("<html>502</html>", null, null)]
    public void The_envelope_code_and_message_are_read(string json, int? code, string? message) =>
        Assert.Equal((code, message), GptImage15Payloads.ReadEnvelope(Encoding.UTF8.GetBytes(json)));

    private sealed class TaskComparer : IEqualityComparer<ProviderTask>
    {
        public bool Equals(ProviderTask? x, ProviderTask? y) =>
            x!.TaskId == y!.TaskId && x.Status == y.Status && x.Failure == y.Failure && x.Credits == y.Credits;

        public int GetHashCode(ProviderTask obj) => obj.TaskId.GetHashCode(StringComparison.Ordinal);
    }
}
