using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace EventImaging.Core.Ledger;

/// <summary>Lets <c>dotnet ef migrations add</c> build the PostgreSQL model without a running service.</summary>
internal sealed class LedgerDesignTimeFactory : IDesignTimeDbContextFactory<LedgerDbContext>
{
    public LedgerDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<LedgerDbContext>().UseNpgsql("Host=localhost;Database=eventimaging").UseLedgerConventions().Options);
}
