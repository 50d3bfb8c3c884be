using System.Collections.Concurrent;
using Npgsql;
using Testcontainers.PostgreSql;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>
/// A PostgreSQL server for the test run: the one named by <c>EVENTIMAGING_TEST_POSTGRES</c>
/// (an Npgsql connection string of a role allowed to create databases) when set, otherwise a
/// container of the pinned image (or of <c>EVENTIMAGING_TEST_POSTGRES_IMAGE</c>) started with Testcontainers.
/// Each test environment gets its own database.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    /// <summary>Environment variable with the server's connection string.</summary>
    public const string ServerVariable = "EVENTIMAGING_TEST_POSTGRES";

    /// <summary>The image started when no server is configured.</summary>
    public const string Image = "postgres:17-alpine";

    /// <summary>
    /// Optional environment variable naming another image to start instead of <see cref="Image"/>: an equivalent built
    /// locally where no image registry is reachable (tests/containers/local-images.sh).
    /// </summary>
    public const string ImageVariable = "EVENTIMAGING_TEST_POSTGRES_IMAGE";

    private readonly ConcurrentDictionary<string, byte> createdDatabases = new();
    private PostgreSqlContainer? container;
    private string? connectionString;

    /// <summary>The server's connection string (maintenance database).</summary>
    public string ConnectionString => connectionString ?? throw NotInitialized();

    /// <summary>True when the server is a container started by this fixture.</summary>
    public bool IsContainer => container is not null;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(ServerVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            connectionString = configured;
        }
        else
        {
            var image = Environment.GetEnvironmentVariable(ImageVariable);
            container = new PostgreSqlBuilder(string.IsNullOrWhiteSpace(image) ? Image : image).Build();
            await container.StartAsync();
            connectionString = container.GetConnectionString();
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
    }

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    /// <param name="name">The database name; a unique one when null.</param>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= $"ei_{Guid.NewGuid():N}";
        await ExecuteOnServerAsync($"CREATE DATABASE {QuoteIdentifier(name)}");
        createdDatabases.TryAdd(name, 0);
        return ConnectionStringFor(name);
    }

    /// <summary>
    /// Makes a database unreachable, as an outage does: new connections are refused (superusers' included), open
    /// ones are cut, and this process's pools are emptied. Disposing the result lets connections in again.
    /// </summary>
    public async Task<IAsyncDisposable> RefuseConnectionsAsync(string database)
    {
        await ExecuteOnServerAsync($"ALTER DATABASE {QuoteIdentifier(database)} ALLOW_CONNECTIONS false");
        await ExecuteOnServerAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database.Replace("'", "''", StringComparison.Ordinal)}' AND pid <> pg_backend_pid()");
        NpgsqlConnection.ClearAllPools();
        return new Outage(() => ExecuteOnServerAsync($"ALTER DATABASE {QuoteIdentifier(database)} ALLOW_CONNECTIONS true"));
    }

    /// <summary>Drops a database, closing its connections first; a missing one is not an error.</summary>
    /// <param name="name">The database name.</param>
    public async Task DropDatabaseAsync(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var forDatabase = ConnectionStringFor(name);
        await using (var connection = new NpgsqlConnection(forDatabase))
        {
            // Pooled idle connections would otherwise be broken by the drop.
            NpgsqlConnection.ClearPool(connection);
        }

        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {QuoteIdentifier(name)} WITH (FORCE)");
        createdDatabases.TryRemove(name, out _);
    }

    /// <summary>The connection string of a database on this server.</summary>
    /// <param name="name">The database name.</param>
    public string ConnectionStringFor(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (container is null && connectionString is not null)
        {
            // A shared server outlives the run: leave it as it was.
            foreach (var name in createdDatabases.Keys)
            {
                try
                {
                    await DropDatabaseAsync(name);
                }
#pragma warning disable CA1031 // Best-effort cleanup must not hide the test results.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }
        }

        if (container is not null)
        {
            await container.DisposeAsync();
        }
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
#pragma warning disable CA2100 // Only quoted identifiers are interpolated; DDL takes no parameters.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        await command.ExecuteNonQueryAsync();
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";

    private static InvalidOperationException NotInitialized() =>
        new("PostgresFixture is not initialized yet.");

    private sealed class Outage(Func<Task> end) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await end();
    }
}
