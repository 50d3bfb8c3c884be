using System.Text;
using EventImaging.Contracts;
using EventImaging.Core.Providers;
using EventImaging.Core.Providers.Evolink;

namespace EventImaging.UnitTests.Providers;

/// <summary>Every evolink shape in PROVIDERS.md §1 and the two API documents.</summary>
public sealed class EvolinkPayloadsTests
{
    private static ProviderTask Read(string json) => EvolinkPayloads.ReadTask(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Create_response_is_a_running_task_with_estimate_and_reserved_credits()
    {
        var task = Read("""
            {"created":1757156493,"id":"task-unified-1757156493-imcg5zqt","model":"gpt-image-1.5","object":"image.generation.task",
             "progress":0,"status":"pending","task_info":{"can_cancel":true,"estimated_time":100},"type":"image",
             "usage":{"billing_rule":"per_call","credits_reserved":2.5,"user_group":"default"}}
            """);
        Assert.Equal("task-unified-1757156493-imcg5zqt", task.TaskId);
        Assert.Equal(ProviderTaskStatus.Running, task.Status);
        Assert.Equal(100, task.EstimatedSeconds);
        Assert.Equal(2.5, task.Credits);
        Assert.False(task.IsTerminal);
    }

    [Fact]
    public void Completed_task_carries_its_result_urls()
    {
        var task = Read("""
            {"created":1756817821,"id":"task-unified-1756817821-4x3rx6ny","model":"gpt-image-1.5","object":"image.generation.task",
             "progress":100,"results":["https://files.example/image.png"],"status":"completed","task_info":{"can_cancel":false},"type":"image"}
            """);
        Assert.Equal(ProviderTaskStatus.Completed, task.Status);
        Assert.Equal(["https://files.example/image.png"], task.ResultUrls);
        Assert.Equal(100, task.Progress);
        Assert.Null(task.Failure);
    }

    [Fact]
    public void Failed_task_with_string_error_code_maps_to_our_code()
    {
        var task = Read("""
            {"id":"task-unified-1772618027-cmeisy8h","object":"image.generation.task","status":"failed","progress":0,
             "error":{"code":"content_policy_violation","message":"Content policy violation."}}
            """);
        Assert.Equal(ProviderTaskStatus.Failed, task.Status);
        Assert.Equal(new ProviderFailure(FailureCodes.ContentPolicyViolation, "content_policy_violation", "Content policy violation.", false), task.Failure);
    }

    [Fact]
    public void Failed_task_with_numeric_error_code_is_read_as_text()
    {
        var task = Read("""{"id":"t1","status":"failed","error":{"code":503,"message":"Service unavailable","type":"task_error"}}""");
        Assert.Equal("503", task.Failure!.ProviderCode);
        Assert.Equal(FailureCodes.ProviderError, task.Failure.Code);
        Assert.True(task.Failure.Retryable);
    }

    [Fact]
    public void Failed_task_without_an_error_object_still_fails_with_a_reason()
    {
        var task = Read("""{"id":"t1","status":"failed","progress":0}""");
        Assert.Equal(ProviderTaskStatus.Failed, task.Status);
        Assert.Equal(FailureCodes.ProviderError, task.Failure!.Code);
        Assert.Null(task.Failure.ProviderCode);
        Assert.False(string.IsNullOrWhiteSpace(task.Failure.Message));
    }

    [Fact]
    public void Cancelled_task_is_terminal_and_not_retryable()
    {
        var task = Read("""{"id":"t1","status":"cancelled"}""");
        Assert.Equal(ProviderTaskStatus.Cancelled, task.Status);
        Assert.True(task.IsTerminal);
        Assert.Equal(FailureCodes.Cancelled, task.Failure!.Code);
        Assert.False(task.Failure.Retryable);
    }

    [Theory]
    [InlineData("pending")]
    [InlineData("processing")]
    [InlineData("queued_for_gpu")]
    [InlineData("")]
    public void Unknown_or_running_statuses_are_still_running(string status)
    {
        var task = Read($$"""{"id":"t1","status":"{{status}}","progress":40}""");
        Assert.Equal(ProviderTaskStatus.Running, task.Status);
        Assert.Equal(40, task.Progress);
    }

    [Fact]
    public void Missing_status_is_still_running() =>
        Assert.Equal(ProviderTaskStatus.Running, Read("""{"id":"t1"}""").Status);

    [Theory]
    [InlineData("request_cancelled", FailureCodes.Cancelled, false)]
    [InlineData("invalid_parameters", FailureCodes.InvalidRequest, false)]
    [InlineData("image_processing_error", FailureCodes.InvalidRequest, false)]
    [InlineData("image_dimension_mismatch", FailureCodes.InvalidRequest, false)]
    [InlineData("generation_failed_no_content", FailureCodes.ProviderError, true)]
    [InlineData("service_error", FailureCodes.ProviderError, true)]
    [InlineData("generation_timeout", FailureCodes.ProviderError, true)]
    [InlineData("resource_exhausted", FailureCodes.ProviderError, true)]
    [InlineData("quota_exceeded", FailureCodes.ProviderError, true)]
    [InlineData("service_unavailable", FailureCodes.ProviderError, true)]
    [InlineData("resource_not_found", FailureCodes.ProviderError, true)]
    [InlineData("unknown_error", FailureCodes.ProviderError, true)]
    public void Every_documented_task_error_code_is_classified(string providerCode, string code, bool retryable)
    {
        var task = Read($$$"""{"id":"t1","status":"failed","error":{"code":"{{{providerCode}}}","message":"m","type":"task_error"}}""");
        Assert.Equal(code, task.Failure!.Code);
        Assert.Equal(retryable, task.Failure.Retryable);
        Assert.Equal(providerCode, task.Failure.ProviderCode);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"status":"completed","results":["https://x.example/a.png"]}""")]
    [InlineData("""{"id":"t1","status":"completed"}""")]
    [InlineData("")]
    public void Unreadable_bodies_are_refused_with_a_payload_error(string json) =>
        Assert.Throws<ProviderPayloadException>(() => Read(json));

    [Theory]
    [InlineData("""{"error":{"code":"insufficient_quota","message":"Insufficient quota.","type":"insufficient_quota"}}""", "insufficient_quota", "Insufficient quota.")]
    [InlineData("""{"error":{"code":402,"message":"Payment required"}}""", "402", "Payment required")]
    [InlineData("""{"message":"no error object"}""", null, null)]
    [InlineData("<html>Bad gateway</html>", null, null)]
    public void Error_bodies_are_read_in_both_code_shapes(string json, string? code, string? message) =>
        Assert.Equal((code, message), EvolinkPayloads.ReadErrorBody(Encoding.UTF8.GetBytes(json)));
}
