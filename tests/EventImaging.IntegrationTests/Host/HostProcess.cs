using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EventImaging.IntegrationTests.Host;

/// <summary>The built Host, run as its own process on its embedded defaults, as the README runs it.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly string ledgerPath;

    private HostProcess(Process process, Uri baseUrl, string ledgerPath)
    {
        this.process = process;
        BaseUrl = baseUrl;
        this.ledgerPath = ledgerPath;
    }

    public Uri BaseUrl { get; }

    public static async Task<HostProcess> StartAsync()
    {
        var assembly = HostAssembly();
        var port = FreePort();
        var ledgerPath = Path.Combine(Path.GetTempPath(), $"eventimaging-host-{Guid.NewGuid():N}.db");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { assembly, "--urls", $"http://127.0.0.1:{port}", "--Ledger:SqlitePath", ledgerPath })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The Host process did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var host = new HostProcess(process, new Uri($"http://127.0.0.1:{port}"), ledgerPath);
        using var http = new HttpClient();
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return !process.HasExited && (await http.GetAsync(new Uri(host.BaseUrl, "/health/ready"))).StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60),
            "the Host to answer /health/ready");
        return host;
    }

    private static string HostAssembly()
    {
        // tests/EventImaging.IntegrationTests/bin/<Configuration>/net10.0/ → services/EventImaging.Host/bin/<Configuration>/net10.0/
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testOutput.Parent!.Name;
        var root = testOutput.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var assembly = Path.Combine(root, "services", "EventImaging.Host", "bin", configuration, testOutput.Name, "EventImaging.Host.dll");
        return File.Exists(assembly) ? assembly : throw new FileNotFoundException("Build the Host first (dotnet build EventImaging.sln).", assembly);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        foreach (var file in new[] { ledgerPath, ledgerPath + "-wal", ledgerPath + "-shm" })
        {
            File.Delete(file);
        }
    }
}
