using EventImaging.Contracts;

namespace EventImaging.Core.Providers.Evolink;

/// <summary>evolink's error codes (PROVIDERS.md §1) mapped onto EventImaging's stable codes.</summary>
internal static class EvolinkErrors
{
    /// <summary>A failed task's <c>error.code</c>: whose fault, and would a new attempt succeed.</summary>
    public static ProviderFailure ForTask(string? providerCode, string? message, bool cancelled)
    {
        if (cancelled)
        {
            return new(FailureCodes.Cancelled, providerCode ?? "cancelled", message ?? "The provider cancelled the task.", false);
        }

        var code = providerCode switch
        {
            "content_policy_violation" => FailureCodes.ContentPolicyViolation,
            "invalid_parameters" or "image_processing_error" or "image_dimension_mismatch" => FailureCodes.InvalidRequest,
            "request_cancelled" => FailureCodes.Cancelled,
            _ => FailureCodes.ProviderError,
        };
        var retryable = code == FailureCodes.ProviderError;
        return new(code, providerCode, message ?? "The provider reported the task as failed without a reason.", retryable);
    }

    /// <summary>An HTTP error answer to create or query, by status and the body's <c>error.code</c>.</summary>
    public static (ProviderFailureKind Kind, ProviderFailure Failure) ForHttp(int status, string? providerCode, string? message)
    {
        var text = message ?? $"evolink answered HTTP {status}.";
        return status switch
        {
            400 or 404 or 413 or 422 => (ProviderFailureKind.Rejected, new(FailureCodes.InvalidRequest, providerCode, text, false)),
            401 or 403 => (ProviderFailureKind.Rejected, new(FailureCodes.Unauthorized, providerCode, text, false)),
            402 => (ProviderFailureKind.Rejected, new(FailureCodes.InsufficientQuota, providerCode, text, true)),
            408 or 429 or >= 500 => (ProviderFailureKind.Transient, new(FailureCodes.ProviderError, providerCode, text, true)),
            _ => (ProviderFailureKind.Rejected, new(FailureCodes.ProviderError, providerCode, text, false)),
        };
    }
}
