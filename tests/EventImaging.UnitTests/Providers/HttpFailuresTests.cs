using EventImaging.Contracts;
using EventImaging.Core.Providers;

namespace EventImaging.UnitTests.Providers;

/// <summary>The HTTP error statuses both provider documents list, classified once for every client.</summary>
public sealed class HttpFailuresTests
{
    [Theory]
    [InlineData(400, ProviderFailureKind.Rejected, FailureCodes.InvalidRequest)]
    [InlineData(401, ProviderFailureKind.Rejected, FailureCodes.Unauthorized)]
    [InlineData(402, ProviderFailureKind.Rejected, FailureCodes.InsufficientQuota)]
    [InlineData(403, ProviderFailureKind.Rejected, FailureCodes.Unauthorized)]
    [InlineData(404, ProviderFailureKind.Rejected, FailureCodes.InvalidRequest)]
    [InlineData(413, ProviderFailureKind.Rejected, FailureCodes.InvalidRequest)]
    [InlineData(429, ProviderFailureKind.Transient, FailureCodes.ProviderError)]
    [InlineData(500, ProviderFailureKind.Transient, FailureCodes.ProviderError)]
    [InlineData(502, ProviderFailureKind.Transient, FailureCodes.ProviderError)]
    [InlineData(503, ProviderFailureKind.Transient, FailureCodes.ProviderError)]
    public void Http_errors_say_whose_fault_they_are(int status, ProviderFailureKind kind, string code)
    {
        var (actualKind, failure) = HttpFailures.Classify(status, "x", "message");
        Assert.Equal(kind, actualKind);
        Assert.Equal(code, failure.Code);
        Assert.Equal("x", failure.ProviderCode);
    }
}
