using EventImaging.Core.Ledger;
using Microsoft.EntityFrameworkCore;

namespace EventImaging.UnitTests.Ledger;

public sealed class RequestTransitionsTests
{
    [Theory]
    [InlineData(RequestState.Received, RequestState.Submitted)]
    [InlineData(RequestState.Received, RequestState.Completed)]
    [InlineData(RequestState.Received, RequestState.Failed)]
    [InlineData(RequestState.Submitted, RequestState.Completed)]
    [InlineData(RequestState.Submitted, RequestState.Failed)]
    [InlineData(RequestState.Received, RequestState.Archiving)]
    [InlineData(RequestState.Submitted, RequestState.Archiving)]
    [InlineData(RequestState.Archiving, RequestState.Completed)]
    [InlineData(RequestState.Archiving, RequestState.Failed)]
    public void Forward_transitions_are_allowed(RequestState from, RequestState to) =>
        Assert.True(RequestTransitions.IsAllowed(from, to));

    [Theory]
    [InlineData(RequestState.Completed, RequestState.Failed)]
    [InlineData(RequestState.Failed, RequestState.Completed)]
    [InlineData(RequestState.Completed, RequestState.Submitted)]
    [InlineData(RequestState.Failed, RequestState.Received)]
    [InlineData(RequestState.Submitted, RequestState.Received)]
    [InlineData(RequestState.Completed, RequestState.Completed)]
    [InlineData(RequestState.Submitted, RequestState.Submitted)]
    [InlineData(RequestState.Archiving, RequestState.Submitted)]
    [InlineData(RequestState.Archiving, RequestState.Archiving)]
    [InlineData(RequestState.Completed, RequestState.Archiving)]
    public void Terminal_states_are_never_left_and_nothing_goes_back(RequestState from, RequestState to) =>
        Assert.False(RequestTransitions.IsAllowed(from, to));

    [Fact]
    public void Provider_news_applies_only_before_the_outcome_is_known_and_a_cancel_to_anything_not_terminal()
    {
        Assert.Equal([RequestState.Received, RequestState.Submitted], RequestTransitions.BeforeOutcome);
        Assert.Equal([RequestState.Archiving], RequestTransitions.WhileArchiving);
        Assert.Equal(Enum.GetValues<RequestState>().Where(s => !s.IsTerminal()), RequestTransitions.NotTerminal);
        foreach (var to in new[] { RequestState.Archiving, RequestState.Completed, RequestState.Failed })
        {
            Assert.All(RequestTransitions.BeforeOutcome, from => Assert.True(RequestTransitions.IsAllowed(from, to)));
        }

        Assert.All(RequestTransitions.NotTerminal, from => Assert.True(RequestTransitions.IsAllowed(from, RequestState.Failed)));
    }

    [Fact]
    public void Only_completed_and_failed_are_terminal()
    {
        Assert.True(RequestState.Completed.IsTerminal());
        Assert.True(RequestState.Failed.IsTerminal());
        Assert.False(RequestState.Received.IsTerminal());
        Assert.False(RequestState.Submitted.IsTerminal());
        Assert.False(RequestState.Archiving.IsTerminal());
    }

    [Theory]
    [InlineData("NextActionAt", "next_action_at")]
    [InlineData("RequestId", "request_id")]
    [InlineData("State", "state")]
    public void Columns_are_snake_case(string property, string column)
    {
        using var db = new LedgerDbContext(new DbContextOptionsBuilder<LedgerDbContext>().UseNpgsql("Host=localhost").UseLedgerConventions().Options);

        Assert.Equal(column, db.Model.FindEntityType(typeof(ImageRequest))!.FindProperty(property)!.GetColumnName());
    }
}
