using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Operations;

namespace EventImaging.UnitTests.Operations;

/// <summary>The publish is the row's mark: the timeline puts it in its place among the history's entries, once.</summary>
public sealed class RequestTimelineTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_rows_publish_mark_is_the_published_step_in_time_order()
    {
        var row = Row(publishedAfter: TimeSpan.FromSeconds(3));
        var history = History((0, HistoryKinds.Received), (1, HistoryKinds.Submit), (2, HistoryKinds.Completed), (4, HistoryKinds.Callback));

        var timeline = RequestTimeline.Of(row, history).Timeline;

        Assert.Equal([HistoryKinds.Received, HistoryKinds.Submit, HistoryKinds.Completed, HistoryKinds.Published, HistoryKinds.Callback], timeline.Select(e => e.Step));
        Assert.Equal(new TimelineEntry(Start.AddSeconds(3), HistoryKinds.Published, "ImageCompleted"), timeline[3]);
    }

    [Fact]
    public void The_published_step_follows_the_outcome_whatever_the_other_processes_clocks_say()
    {
        // The submitter stamped its accepted create after the callback had been applied and published, and wrote it first.
        var row = Row(publishedAfter: TimeSpan.FromSeconds(3));
        var history = History((0, HistoryKinds.Received), (5, HistoryKinds.Submit), (2, HistoryKinds.Completed));

        var timeline = RequestTimeline.Of(row, history).Timeline;

        Assert.Equal([HistoryKinds.Received, HistoryKinds.Submit, HistoryKinds.Completed, HistoryKinds.Published], timeline.Select(e => e.Step));
    }

    [Fact]
    public void An_unmarked_row_has_no_published_step()
    {
        var timeline = RequestTimeline.Of(Row(publishedAfter: null), History((0, HistoryKinds.Received), (2, HistoryKinds.Completed))).Timeline;

        Assert.DoesNotContain(timeline, e => e.Step == HistoryKinds.Published);
    }

    [Theory]
    [InlineData(HistoryKinds.Republished)]
    [InlineData(HistoryKinds.Published)]
    public void A_history_that_tells_the_publish_itself_is_not_told_it_twice(string kind)
    {
        var timeline = RequestTimeline.Of(Row(publishedAfter: TimeSpan.FromSeconds(3)), History((0, HistoryKinds.Received), (2, HistoryKinds.Completed), (3, kind))).Timeline;

        Assert.Equal([HistoryKinds.Received, HistoryKinds.Completed, kind], timeline.Select(e => e.Step));
    }

    private static ImageRequest Row(TimeSpan? publishedAfter) => new()
    {
        RequestId = Guid.NewGuid(),
        Provider = "evolink",
        Model = "gpt-image-1.5",
        CommandJson = "{}",
        State = RequestState.Completed,
        CreatedAt = Start,
        FinishedAt = Start.AddSeconds(2),
        EventType = "ImageCompleted",
        EventJson = "{}",
        EventPublishedAt = publishedAfter is { } after ? Start + after : null,
    };

    private static List<HistoryEntry> History(params (int Second, string Kind)[] entries) =>
        [.. entries.Select((e, i) => new HistoryEntry { Id = i + 1, RequestId = Guid.Empty, At = Start.AddSeconds(e.Second), Kind = e.Kind, Detail = e.Kind })];
}
