using System.Text;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace EventImaging.Core.Ledger;

/// <summary>The ledger database: requests, and the DataProtection key ring every replica shares.</summary>
public sealed class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options), IDataProtectionKeyContext
{
    /// <summary>Column widths of what callers and providers name; longer text is cut or refused before it is stored.</summary>
    public const int ProviderLength = 32;

    public const int ModelLength = 64;

    public const int TaskIdLength = 128;

    public DbSet<ImageRequest> Requests => Set<ImageRequest>();

    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var request = modelBuilder.Entity<ImageRequest>();
        request.ToTable("image_requests");
        request.HasKey(r => r.RequestId);
        request.Property(r => r.State).HasConversion(new EnumToStringConverter<RequestState>()).HasMaxLength(16);
        request.Property(r => r.Provider).HasMaxLength(ProviderLength);
        request.Property(r => r.Model).HasMaxLength(ModelLength);
        request.Property(r => r.ProviderTaskId).HasMaxLength(TaskIdLength);
        request.Property(r => r.LeaseOwner).HasMaxLength(128);
        request.Property(r => r.ErrorCode).HasMaxLength(64);
        request.Property(r => r.EventType).HasMaxLength(32);
        request.Property(r => r.TraceParent).HasMaxLength(64);

        // The poller and retry scheduler claim due rows: their cost follows the due rows, not the rows in flight.
        request.HasIndex(r => r.NextActionAt).HasFilter("next_action_at IS NOT NULL").HasDatabaseName("ix_image_requests_due");
        // The in-flight gauges count unfinished rows and read the oldest one.
        request.HasIndex(r => r.CreatedAt).HasFilter("finished_at IS NULL").HasDatabaseName("ix_image_requests_in_flight");
        // The outbox sweeper looks only at terminal rows whose event is not yet published.
        request.HasIndex(r => r.FinishedAt).HasFilter("event_published_at IS NULL AND finished_at IS NOT NULL")
            .HasDatabaseName("ix_image_requests_unpublished");

        modelBuilder.Entity<DataProtectionKey>().ToTable("data_protection_keys");

        ApplySnakeCaseColumnNames(modelBuilder);
        if (Database.IsSqlite())
        {
            UseSortableTimestampsOnSqlite(modelBuilder);
        }
    }

    private static void ApplySnakeCaseColumnNames(ModelBuilder modelBuilder)
    {
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            property.SetColumnName(ToSnakeCase(property.Name));
        }
    }

    // SQLite has no timestamp type, and EF Core cannot compare DateTimeOffset text there; all our
    // instants are UTC, so their binary form orders correctly.
    private static void UseSortableTimestampsOnSqlite(ModelBuilder modelBuilder)
    {
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            if (property.ClrType == typeof(DateTimeOffset) || property.ClrType == typeof(DateTimeOffset?))
            {
                property.SetValueConverter(new DateTimeOffsetToBinaryConverter());
            }
        }
    }

    internal static string ToSnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
