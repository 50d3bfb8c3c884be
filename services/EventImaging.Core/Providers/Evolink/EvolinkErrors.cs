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
}
