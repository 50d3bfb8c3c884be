using EventImaging.Core.History;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace EventImaging.Core.Ledger;

/// <summary>The ledger database: requests, and the DataProtection key ring every replica shares.</summary>
/// <remarks>Every options builder of this context goes through <see cref="LedgerConventions.UseLedgerConventions"/>.</remarks>
public sealed class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options), IDataProtectionKeyContext
{
    /// <summary>Column widths of what callers and providers name; longer text is cut or refused before it is stored.</summary>
    public const int ProviderLength = 32;

    public const int ModelLength = 64;

    public const int TaskIdLength = 128;

    public DbSet<ImageRequest> Requests => Set<ImageRequest>();

    public DbSet<HistoryEntry> History => Set<HistoryEntry>();

    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var request = modelBuilder.Entity<ImageRequest>();
        request.ToTable("image_requests");
        // Key names as the first migration created them (EF Core's default), which the naming convention would lower-case.
        request.HasKey(r => r.RequestId).HasName("PK_image_requests");
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
        request.HasIndex(r => r.FinishedAt, "ix_image_requests_unpublished").HasFilter("event_published_at IS NULL AND finished_at IS NOT NULL")
            .HasDatabaseName("ix_image_requests_unpublished");
        // Retention deletes finished rows oldest first: its cost follows the expired rows, not the table.
        request.HasIndex(r => r.FinishedAt, "ix_image_requests_finished").HasFilter("finished_at IS NOT NULL")
            .HasDatabaseName("ix_image_requests_finished");

        // The append-only history of each request, read (and deleted by retention) by request, in the order written.
        var history = modelBuilder.Entity<HistoryEntry>();
        history.ToTable("request_history");
        history.HasKey(h => h.Id).HasName("PK_request_history");
        history.Property(h => h.Kind).HasMaxLength(HistoryEntry.KindLength);
        history.Property(h => h.Detail).HasMaxLength(HistoryEntry.DetailLength);
        history.HasIndex(h => new { h.RequestId, h.Id }).HasDatabaseName("ix_request_history_request");

        modelBuilder.Entity<DataProtectionKey>().ToTable("data_protection_keys").HasKey(k => k.Id).HasName("PK_data_protection_keys");

        if (Database.IsSqlite())
        {
            UseSortableTimestampsOnSqlite(modelBuilder);
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
}
