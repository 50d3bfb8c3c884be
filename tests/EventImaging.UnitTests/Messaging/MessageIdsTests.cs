using EventImaging.Core.Messaging;

namespace EventImaging.UnitTests.Messaging;

public sealed class MessageIdsTests
{
    [Fact]
    public void Ids_are_stable_per_request_and_distinct_per_kind()
    {
        var requestId = Guid.NewGuid();
        Assert.Equal(requestId, MessageIds.Terminal(requestId));
        Assert.Equal(MessageIds.Submitted(requestId), MessageIds.Submitted(requestId));
        Assert.NotEqual(MessageIds.Terminal(requestId), MessageIds.Submitted(requestId));
        Assert.NotEqual(MessageIds.Submitted(requestId), MessageIds.Submitted(Guid.NewGuid()));
    }

    [Fact]
    public void Submitted_ids_are_version_5_uuids() =>
        Assert.Equal(5, MessageIds.Submitted(Guid.NewGuid()).Version);
}
