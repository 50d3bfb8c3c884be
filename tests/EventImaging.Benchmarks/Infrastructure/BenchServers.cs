using System.Diagnostics;
using EventImaging.IntegrationTests.Infrastructure;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>
/// The RabbitMQ and PostgreSQL the benchmark runs on, found exactly as the tests find them: the servers named by
/// <c>EVENTIMAGING_TEST_RABBITMQ</c> / <c>EVENTIMAGING_TEST_POSTGRES</c>, else whatever <c>tests/scripts/ensure-servers.sh</c>
/// (shared with test.sh) installs and starts, else containers started by the test fixtures.
/// </summary>
internal sealed class BenchServers : IAsyncDisposable
{
    private BenchServers()
    {
    }

    public RabbitMqFixture RabbitMq { get; } = new();

    public PostgresFixture Postgres { get; } = new();

    public static async Task<BenchServers> StartAsync()
    {
        await EnsureServersAsync();
        var servers = new BenchServers();
        await servers.RabbitMq.InitializeAsync();
        await servers.Postgres.InitializeAsync();
        return servers;
    }

    private static async Task EnsureServersAsync()
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(RabbitMqFixture.BrokerVariable))
            && !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(PostgresFixture.ServerVariable)))
        {
            return;
        }

        // Progress goes straight to our stderr; stdout carries one `export NAME='value'` line per variable.
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, WorkingDirectory = RepositoryPaths.Root };
        start.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "tests", "scripts", "ensure-servers.sh"));
        using var process = Process.Start(start) ?? throw new InvalidOperationException("tests/scripts/ensure-servers.sh did not start.");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tests/scripts/ensure-servers.sh failed with exit code {process.ExitCode} (its messages are above).");
        }

        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("export ", StringComparison.Ordinal) && line.IndexOf('=', StringComparison.Ordinal) is var equals and > 0)
            {
                var name = line["export ".Length..equals];
                var value = line[(equals + 1)..].Trim('\'');
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The fixtures drop the virtual hosts and databases they created; a shared server is left as it was.
        await RabbitMq.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
