namespace EventImaging.Contracts;

/// <summary>The values <see cref="ImageFailed.Code"/> takes. New codes may be added; treat unknown ones as <see cref="ProviderError"/>.</summary>
public static class FailureCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string ContentPolicyViolation = "content_policy_violation";
    public const string InsufficientQuota = "insufficient_quota";
    public const string Unauthorized = "unauthorized";
    public const string ProviderError = "provider_error";
    public const string Timeout = "timeout";
    public const string Cancelled = "cancelled";

    /// <summary>The image was made but could not be copied to EventImaging's store, and <c>Archive:Required</c> is set.</summary>
    public const string ArchiveFailed = "archive_failed";
}
