using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EventImaging.IntegrationTests.Infrastructure;
using Npgsql;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>What the figures were measured on: they mean little without it.</summary>
internal sealed record MachineInfo(
    int Cores,
    string Cpu,
    double MemoryGiB,
    string Os,
    string Kernel,
    string DotNet,
    string RabbitMq,
    string Erlang,
    string PostgreSql)
{
    public static async Task<MachineInfo> ReadAsync(RabbitMqFixture rabbitMq, PostgresFixture postgres)
    {
        var (rabbit, erlang) = await BrokerVersionsAsync(rabbitMq);
        return new MachineInfo(
            Environment.ProcessorCount,
            ProcField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
            Math.Round(MemoryTotalKiB() / 1024.0 / 1024.0, 1),
            OsName(),
            ReadFirstLine("/proc/sys/kernel/osrelease") ?? RuntimeInformation.OSDescription,
            $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})",
            rabbit,
            erlang,
            await PostgresVersionAsync(postgres));
    }

    /// <summary>The 1, 5 and 15 minute load averages: other work on the machine shows here.</summary>
    public static string LoadAverage() => string.Join(' ', (ReadFirstLine("/proc/loadavg") ?? "? ? ?").Split(' ').Take(3));

    private static async Task<(string Rabbit, string Erlang)> BrokerVersionsAsync(RabbitMqFixture rabbitMq)
    {
        using var http = new HttpClient { BaseAddress = rabbitMq.ManagementUri, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{rabbitMq.UserName}:{rabbitMq.Password}")));
        using var overview = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/overview", UriKind.Relative)));
        return (overview.RootElement.GetProperty("rabbitmq_version").GetString() ?? "?",
            overview.RootElement.GetProperty("erlang_version").GetString() ?? "?");
    }

    private static async Task<string> PostgresVersionAsync(PostgresFixture postgres)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SHOW server_version", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static string OsName()
    {
        try
        {
            var pretty = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            var version = ReadFirstLine("/etc/debian_version");
            return (pretty?["PRETTY_NAME=".Length..].Trim('"') ?? RuntimeInformation.OSDescription) + (version is null ? "" : $" ({version})");
        }
        catch (IOException)
        {
            return RuntimeInformation.OSDescription;
        }
    }

    private static long MemoryTotalKiB() =>
        long.TryParse(ProcField("/proc/meminfo", "MemTotal")?.Split(' ')[0], out var kib) ? kib : 0;

    private static string? ProcField(string path, string name)
    {
        try
        {
            var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal));
            return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? ReadFirstLine(string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
