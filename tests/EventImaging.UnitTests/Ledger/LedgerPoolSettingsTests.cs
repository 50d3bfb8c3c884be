using EventImaging.Core.Ledger;
using Npgsql;

namespace EventImaging.UnitTests.Ledger;

public sealed class LedgerPoolSettingsTests
{
    [Fact]
    public void A_plain_connection_string_gets_the_ledgers_pool_defaults()
    {
        var settings = new NpgsqlConnectionStringBuilder(LedgerExtensions.WithPoolSettings("Host=db;Database=ledger;Username=u"));

        Assert.Equal(16, settings.MaxPoolSize);
        Assert.True(settings.NoResetOnClose);
        Assert.Equal(64, settings.MaxAutoPrepare);
        Assert.Equal("db", settings.Host);
    }

    [Theory]
    [InlineData("Max Auto Prepare=0")]
    [InlineData("MaxAutoPrepare=0")]
    public void A_connection_string_that_names_auto_preparation_keeps_its_own_value(string setting)
    {
        // Behind a pooler in transaction mode (PgBouncer before 1.21), prepared statements must be off.
        var settings = new NpgsqlConnectionStringBuilder(LedgerExtensions.WithPoolSettings($"Host=db;{setting};Maximum Pool Size=4;No Reset On Close=false"));

        Assert.Equal(0, settings.MaxAutoPrepare);
        Assert.Equal(4, settings.MaxPoolSize);
        Assert.False(settings.NoResetOnClose);
    }
}
