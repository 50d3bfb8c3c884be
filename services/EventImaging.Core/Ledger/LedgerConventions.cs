using Microsoft.EntityFrameworkCore;

namespace EventImaging.Core.Ledger;

public static class LedgerConventions
{
    /// <summary>The ledger's naming: snake_case tables, columns and keys, as PostgreSQL spells its own.</summary>
    public static DbContextOptionsBuilder<LedgerDbContext> UseLedgerConventions(this DbContextOptionsBuilder<LedgerDbContext> options) =>
        options.UseSnakeCaseNamingConvention();

    /// <inheritdoc cref="UseLedgerConventions(DbContextOptionsBuilder{LedgerDbContext})"/>
    public static DbContextOptionsBuilder UseLedgerConventions(this DbContextOptionsBuilder options) =>
        options.UseSnakeCaseNamingConvention();
}
