using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Providers;
using EventImaging.Core.Telemetry;

namespace EventImaging.UnitTests.Ledger;

public sealed class TerminalOutcomeTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_completed_task_carries_the_commands_metadata_into_the_event_and_its_json()
    {
        var row = Row(new Dictionary<string, string> { ["order"] = "42", ["tenant"] = "acme" });
        var task = new ProviderTask("task-1", ProviderTaskStatus.Completed, 100, ["https://files.example/1.png"], Credits: 3.5);

        var outcome = TerminalOutcome.ForTask(row, task, TimeSpan.FromHours(24), "callback", Now);

        var completed = Assert.IsType<ImageCompleted>(outcome.Event);
        Assert.Equal(new Dictionary<string, string> { ["order"] = "42", ["tenant"] = "acme" }, completed.Metadata);
        Assert.Equal(["https://files.example/1.png"], completed.ImageUrls);
        Assert.Equal(Now.AddHours(24), completed.UrlsExpireAt);
        var stored = JsonSerializer.Deserialize<ImageCompleted>(outcome.EventJson, EventJson.Options)!;
        Assert.Equal("42", stored.Metadata!["order"]);
    }

    [Fact]
    public void A_failed_task_carries_the_metadata_and_a_command_without_metadata_gives_none()
    {
        var failure = new ProviderFailure(FailureCodes.ProviderError, "content_policy", "Refused.", false);
        var task = new ProviderTask("task-2", ProviderTaskStatus.Failed, Failure: failure);

        var failed = Assert.IsType<ImageFailed>(TerminalOutcome.ForTask(Row(new Dictionary<string, string> { ["k"] = "v" }), task, TimeSpan.FromHours(1), "poll", Now).Event);
        var bare = Assert.IsType<ImageFailed>(TerminalOutcome.ForTask(Row(null), task, TimeSpan.FromHours(1), "poll", Now).Event);

        Assert.Equal("v", failed.Metadata!["k"]);
        Assert.Equal("content_policy", failed.ProviderCode);
        Assert.Null(bare.Metadata);
    }

    [Fact]
    public void The_request_log_scope_reads_as_its_fields()
    {
        var id = Guid.Parse("0b5f6a34-6a53-4bb4-9d8a-3f0f2f0d6f11");

        Assert.Equal($"RequestId:{id}", new RequestLogScope(id, null, null).ToString());
        Assert.Equal($"RequestId:{id} Provider:evolink", new RequestLogScope(id, "evolink", null).ToString());
        Assert.Equal($"RequestId:{id} Provider:evolink ProviderTaskId:task-1", new RequestLogScope(id, "evolink", "task-1").ToString());
        Assert.Equal(["RequestId", "Provider", "ProviderTaskId"], new RequestLogScope(id, "evolink", "task-1").Select(f => f.Key));
    }

    private static ImageRequest Row(IReadOnlyDictionary<string, string>? metadata)
    {
        var command = new GenerateImage
        {
            RequestId = Guid.NewGuid(),
            Prompt = "a lighthouse at dusk, \"quoted\" and long enough to be skipped",
            ImageUrls = ["https://images.example/in.png"],
            Metadata = metadata,
        };
        return new ImageRequest
        {
            RequestId = command.RequestId,
            Provider = "evolink",
            Model = "gpt-image-1.5",
            CommandJson = JsonSerializer.Serialize(command, EventJson.Options),
        };
    }
}
