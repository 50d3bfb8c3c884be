using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EventImaging.IntegrationTests.Processes;

/// <summary>
/// A built EventImaging service run as its own process, configured through its environment, as deployed. What it
/// prints goes to the test's output (or nowhere, without one).
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process process;

    private ServiceProcess(Process process, Uri baseUrl)
    {
        this.process = process;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    /// <summary>The operating system's id of the process (for reading its memory from <c>/proc</c>).</summary>
    public int ProcessId => process.Id;

    /// <summary>Whether the process has ended (killed by the kernel's OOM killer, for one).</summary>
    public bool HasExited => process.HasExited;

    /// <summary>Starts <c>services/{name}</c> on a free loopback port and waits for <c>/health/ready</c>.</summary>
    public static Task<ServiceProcess> StartAsync(string name, IReadOnlyDictionary<string, string?> environment, ITestOutputHelper? output, params string[] arguments) =>
        StartAssemblyAsync(AssemblyOf(name), environment, output, arguments, "/health/ready");

    /// <summary>
    /// Starts a built ASP.NET Core app through <paramref name="launcher"/> instead of <c>dotnet</c>: a command that runs
    /// the assembly and arguments that follow it, after doing what must happen before the runtime starts (such as
    /// joining a memory cgroup, whose limit the runtime reads at start-up); then waits for <c>/health/ready</c>.
    /// </summary>
    public static Task<ServiceProcess> StartAssemblyAsync(string assembly, IReadOnlyDictionary<string, string?> environment, ITestOutputHelper? output, IReadOnlyList<string> launcher) =>
        StartAssemblyAsync(assembly, environment, output, [], "/health/ready", launcher);

    /// <summary>Starts <c>services/{name}</c> and waits only until it answers <c>/health/live</c> (its dependencies may be down).</summary>
    public static Task<ServiceProcess> StartLiveAsync(string name, IReadOnlyDictionary<string, string?> environment, ITestOutputHelper? output) =>
        StartAssemblyAsync(AssemblyOf(name), environment, output, [], "/health/live");

    /// <summary>Starts any built ASP.NET Core app on a free loopback port and waits for its <c>/health/ready</c>.</summary>
    public static Task<ServiceProcess> StartAssemblyAsync(string assembly, IReadOnlyDictionary<string, string?> environment, ITestOutputHelper? output, params string[] arguments) =>
        StartAssemblyAsync(assembly, environment, output, arguments, "/health/ready");

    private static async Task<ServiceProcess> StartAssemblyAsync(
        string assembly, IReadOnlyDictionary<string, string?> environment, ITestOutputHelper? output, string[] arguments, string healthPath, IReadOnlyList<string>? launcher = null)
    {
        var name = Path.GetFileNameWithoutExtension(assembly);
        var port = FreePort();
        var command = launcher ?? ["dotnet"];
        var start = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in command.Skip(1).Concat([assembly, "--urls", $"http://127.0.0.1:{port}"]).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start.");
        var log = new TestOutputLog(output);
        var source = $"{name}:{port}";
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is { } text)
            {
                log.WriteLine(source, text);
            }
        };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is { } text)
            {
                log.WriteLine($"{source} stderr", text);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient();
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    // An ended process is not going to answer: stop waiting and say so below.
                    if (process.HasExited)
                    {
                        return true;
                    }

                    try
                    {
                        return (await http.GetAsync(new Uri(service.BaseUrl, healthPath))).StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                TimeSpan.FromSeconds(60),
                $"{name} to answer {healthPath}");
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        if (process.HasExited)
        {
            var code = process.ExitCode;
            await service.DisposeAsync();
            throw new InvalidOperationException($"{name} exited with code {code} during start-up.");
        }

        return service;
    }

    /// <summary>Runs a command-line service (the migrator) to its end; returns its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(string name, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout)
    {
        var assembly = AssemblyOf(name);
        var start = new ProcessStartInfo("dotnet", [assembly])
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start.");
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, line) => output.Enqueue(line.Data ?? "");
        process.ErrorDataReceived += (_, line) => output.Enqueue(line.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} did not exit within {timeout}: {string.Join('\n', output)}");
        }

        process.WaitForExit();
        return (process.ExitCode, string.Join('\n', output));
    }

    /// <summary>Ends the process at once, as a crash or an OOM kill would.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The built <c>services/{name}/…/{name}.dll</c> of the same configuration as the caller.</summary>
    public static string AssemblyOf(string name)
    {
        // tests/EventImaging.IntegrationTests/bin/<Configuration>/net10.0/ → services/<name>/bin/<Configuration>/net10.0/
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testOutput.Parent!.Name;
        var root = testOutput.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var assembly = Path.Combine(root, "services", name, "bin", configuration, testOutput.Name, $"{name}.dll");
        return File.Exists(assembly) ? assembly : throw new FileNotFoundException($"Build {name} first (dotnet build EventImaging.sln).", assembly);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }
}
