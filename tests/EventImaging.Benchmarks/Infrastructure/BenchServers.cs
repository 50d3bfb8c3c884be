using System.Diagnostics;
using EventImaging.IntegrationTests.Infrastructure;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>
/// The RabbitMQ and PostgreSQL the benchmark runs on, found exactly as the tests find them: the servers named by
/// <c>EVENTIMAGING_TEST_RABBITMQ</c> / <c>EVENTIMAGING_TEST_POSTGRES</c>, else whatever <c>tests/scripts/ensure-servers.sh</c>
/// (shared with test.sh) installs and starts, else containers started by the test fixtures. The S3-compatible server of
/// the archiving section likewise: <c>EVENTIMAGING_TEST_S3</c>, else the s3rver <c>tests/scripts/ensure-s3.sh</c> starts.
/// </summary>
internal sealed class BenchServers : IAsyncDisposable
{
    private BenchServers()
    {
    }

    public RabbitMqFixture RabbitMq { get; } = new();

    public PostgresFixture Postgres { get; } = new();

    /// <summary>
    /// The S3-compatible server's base URL (<c>EVENTIMAGING_TEST_S3</c>), or null when there is none; then
    /// <see cref="S3Problem"/> says why.
    /// </summary>
    public string? S3 { get; private set; }

    public string? S3Problem { get; private set; }

    /// <param name="s3">Whether a section needs the S3-compatible server (archiving).</param>
    public static async Task<BenchServers> StartAsync(bool s3)
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(RabbitMqFixture.BrokerVariable))
            || string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(PostgresFixture.ServerVariable)))
        {
            await EnsureAsync("ensure-servers.sh");
        }

        var servers = new BenchServers();
        if (s3)
        {
            // Only the archiving section needs it: without it that section reports the fault, and the rest still runs.
            try
            {
                if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(S3Fixture.Variable)))
                {
                    await EnsureAsync("ensure-s3.sh");
                }

                var url = Environment.GetEnvironmentVariable(S3Fixture.Variable) is { Length: > 0 } set ? set
                    : throw new InvalidOperationException($"tests/scripts/ensure-s3.sh did not set {S3Fixture.Variable}.");
                servers.S3Problem = await UnansweredAsync(url);
                servers.S3 = servers.S3Problem is null ? url : null;
            }
            catch (InvalidOperationException ex)
            {
                servers.S3Problem = $"no S3-compatible server: {S3Fixture.Variable} is not set and {ex.Message}";
            }

            if (servers.S3Problem is not null)
            {
                Console.Error.WriteLine(servers.S3Problem);
            }
        }

        await servers.RabbitMq.InitializeAsync();
        await servers.Postgres.InitializeAsync();
        return servers;
    }

    /// <summary>Null when the S3-compatible server at <paramref name="url"/> answers HTTP at all (any status); else why not.</summary>
    private static async Task<string?> UnansweredAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(url);
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException)
        {
            return $"the S3-compatible server {S3Fixture.Variable} names ({url}) does not answer: {ex.Message}";
        }
    }

    /// <summary>Runs one of tests/scripts/ensure-*.sh and takes the variables it exports.</summary>
    private static async Task EnsureAsync(string script)
    {
        // Progress goes straight to our stderr; stdout carries one `export NAME='value'` line per variable.
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, WorkingDirectory = RepositoryPaths.Root };
        start.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "tests", "scripts", script));
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"tests/scripts/{script} did not start.");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tests/scripts/{script} failed with exit code {process.ExitCode} (its messages are above).");
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
