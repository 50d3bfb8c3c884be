using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Archiving;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Providers;

namespace EventImaging.UnitTests.Archiving;

public sealed class ArchiveOutcomesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void With_archiving_on_a_completed_task_leads_to_archiving_with_the_providers_outcome_kept_in_the_row()
    {
        var row = Row();
        var outcome = TerminalOutcome.ForTask(row, Completed(), TimeSpan.FromHours(24), CompletionPaths.Callback, Now, archive: true);

        Assert.Equal(RequestState.Archiving, outcome.State);
        Assert.Equal(RequestTransitions.BeforeOutcome, outcome.Sources);
        var known = JsonSerializer.Deserialize<ImageCompleted>(outcome.EventJson, EventJson.Options)!;
        Assert.Equal(["https://files.example/1.png"], known.ImageUrls);
        Assert.Null(known.Archived);

        // A failed task is not archived: it ends at once.
        var failed = TerminalOutcome.ForTask(row, new ProviderTask("task-1", ProviderTaskStatus.Failed), TimeSpan.FromHours(24), CompletionPaths.Callback, Now, archive: true);
        Assert.Equal(RequestState.Failed, failed.State);
    }

    [Fact]
    public void A_copy_completes_with_the_stored_images_and_their_earliest_expiry()
    {
        var row = Archiving();
        StoredImage[] images = [Stored("https://store.example/a/0.png")];

        var outcome = ArchiveOutcomes.Copied(row, images, Now.AddDays(7));

        Assert.Equal(RequestState.Completed, outcome.State);
        Assert.Equal(RequestTransitions.WhileArchiving, outcome.Sources);
        var completed = Assert.IsType<ImageCompleted>(outcome.Event);
        Assert.True(completed.Archived);
        Assert.Equal(["https://store.example/a/0.png"], completed.ImageUrls);
        Assert.Equal(Now.AddDays(7), completed.UrlsExpireAt);
        Assert.Equal("task-1", completed.ProviderTaskId);
        Assert.Equal(DateTimeOffset.MaxValue, Assert.IsType<ImageCompleted>(ArchiveOutcomes.Copied(row, images, null).Event).UrlsExpireAt);
    }

    [Fact]
    public void A_copy_that_cannot_be_made_completes_with_the_providers_urls_or_fails_when_required()
    {
        var row = Archiving();

        var kept = Assert.IsType<ImageCompleted>(ArchiveOutcomes.NotCopied(row, "the file is gone", required: false, Now).Event);
        var failed = ArchiveOutcomes.NotCopied(row, "the file is gone", required: true, Now);

        Assert.False(kept.Archived);
        Assert.Equal("the file is gone", kept.ArchiveError);
        Assert.Equal(["https://files.example/1.png"], kept.ImageUrls);
        Assert.Equal(RequestState.Failed, failed.State);
        Assert.Equal(RequestTransitions.WhileArchiving, failed.Sources);
        var failure = Assert.IsType<ImageFailed>(failed.Event);
        Assert.Equal(FailureCodes.ArchiveFailed, failure.Code);
        Assert.True(failure.Retryable);
        Assert.Contains("the file is gone", failure.Message, StringComparison.Ordinal);
    }

    private static ProviderTask Completed() => new("task-1", ProviderTaskStatus.Completed, 100, ["https://files.example/1.png"]);

    private static ImageRequest Row() => new()
    {
        RequestId = Guid.NewGuid(),
        Provider = "evolink",
        Model = "gpt-image-1.5",
        CommandJson = """{"prompt":"p"}""",
    };

    private static ImageRequest Archiving()
    {
        var row = Row();
        var outcome = TerminalOutcome.ForTask(row, Completed(), TimeSpan.FromHours(24), CompletionPaths.Poll, Now, archive: true);
        row.State = RequestState.Archiving;
        row.EventJson = outcome.EventJson;
        return row;
    }

    private static StoredImage Stored(string url) => new()
    {
        Url = url,
        ContentType = "image/png",
        Bytes = 10,
        Sha256 = new string('0', 64),
        Width = 1,
        Height = 1,
        ProviderUrl = "https://files.example/1.png",
    };
}
