using System.Diagnostics;

namespace EventImaging.IntegrationTests.Chaos;

/// <summary>
/// Restarts of the test run's own RabbitMQ and PostgreSQL (the servers tests/scripts/ensure-servers.sh started from
/// Debian's packages on loopback), as an operator or a crash would. Every command waits until the server answers again.
/// </summary>
public static class ServerFaults
{
    /// <summary>True when the servers are local Debian-package servers this process may restart (test.sh's main run, with or without Docker).</summary>
    public static bool Available =>
        Environment.GetEnvironmentVariable(RabbitMqFixture.BrokerVariable) is { Length: > 0 } broker && broker.Contains("127.0.0.1", StringComparison.Ordinal)
        && Environment.GetEnvironmentVariable(PostgresFixture.ServerVariable) is { Length: > 0 } ledger && ledger.Contains("127.0.0.1", StringComparison.Ordinal)
        && File.Exists("/usr/bin/pg_ctlcluster") && File.Exists("/usr/sbin/rabbitmqctl");

    /// <summary>The broker application stopped and started inside its running node.</summary>
    public static async Task RestartRabbitMqAppAsync()
    {
        await RunAsync("rabbitmqctl", "-q stop_app");
        await RunAsync("rabbitmqctl", "-q start_app");
        await RunAsync("rabbitmqctl", "-q await_startup");
    }

    /// <summary>The whole node shut down, then started again the way the test script starts it.</summary>
    public static async Task RestartRabbitMqNodeAsync()
    {
        await RunAsync("rabbitmqctl", "-q shutdown");
        await RunAsync("bash", $"-c \"env -u {RabbitMqFixture.BrokerVariable} -u {PostgresFixture.ServerVariable} {RepositoryRoot()}/tests/scripts/ensure-servers.sh >/dev/null\"");
    }

    /// <summary>PostgreSQL restarted with <c>-m fast</c> (sessions ended, a clean checkpoint) or <c>-m immediate</c> (a crash: recovery on start).</summary>
    public static async Task RestartPostgresAsync(string mode)
    {
        var cluster = (await RunAsync("pg_lsclusters", "-h")).Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        await RunAsync("pg_ctlcluster", $"-m {mode} -o \"-c listen_addresses=127.0.0.1 -c max_connections=300\" {cluster[0]} {cluster[1]} restart");
        await RunAsync("pg_isready", $"-q -h 127.0.0.1 -p {cluster[2]} -t 60");
        // This process's idle pooled connections died with the server (the services' own pools find out for themselves).
        Npgsql.NpgsqlConnection.ClearAllPools();
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "EventImaging.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root (EventImaging.sln) was not found above the test output.");
    }

    private static async Task<string> RunAsync(string command, string arguments)
    {
        var start = new ProcessStartInfo(command, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // pg_ctlcluster and rabbitmqctl change to their users' directories; run from / so they always can.
            WorkingDirectory = "/",
        };
        start.Environment["PATH"] = $"{Environment.GetEnvironmentVariable("PATH")}:/usr/sbin:/sbin";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {arguments} exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }
}
