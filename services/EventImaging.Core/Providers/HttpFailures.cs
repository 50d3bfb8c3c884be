using EventImaging.Contracts;

namespace EventImaging.Core.Providers;

/// <summary>
/// A provider's HTTP error status, the same for every provider documented here: whose fault it is and which of
/// our codes it becomes. The provider's own code and message travel along unchanged.
/// </summary>
public static class HttpFailures
{
    public static (ProviderFailureKind Kind, ProviderFailure Failure) Classify(int status, string? providerCode, string message) => status switch
    {
        400 or 404 or 413 or 422 => (ProviderFailureKind.Rejected, new(FailureCodes.InvalidRequest, providerCode, message, false)),
        401 or 403 => (ProviderFailureKind.Rejected, new(FailureCodes.Unauthorized, providerCode, message, false)),
        402 => (ProviderFailureKind.Rejected, new(FailureCodes.InsufficientQuota, providerCode, message, true)),
        408 or 429 or >= 500 => (ProviderFailureKind.Transient, new(FailureCodes.ProviderError, providerCode, message, true)),
        _ => (ProviderFailureKind.Rejected, new(FailureCodes.ProviderError, providerCode, message, false)),
    };

    public static ProviderException ToException(int status, string? providerCode, string message)
    {
        var (kind, failure) = Classify(status, providerCode, message);
        return new ProviderException(kind, failure, status);
    }
}
