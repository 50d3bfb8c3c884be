using EventImaging.Contracts;
using EventImaging.Core.Providers;
using EventImaging.Core.Providers.Evolink;

namespace EventImaging.UnitTests.Providers;

public sealed class EvolinkErrorsTests
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
        var (actualKind, failure) = EvolinkErrors.ForHttp(status, "x", "message");
        Assert.Equal(kind, actualKind);
        Assert.Equal(code, failure.Code);
        Assert.Equal("x", failure.ProviderCode);
    }
}
