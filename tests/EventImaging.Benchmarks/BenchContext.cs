using System.Diagnostics;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Messaging;
using EventImaging.Benchmarks.Report;
using EventImaging.ProviderSimulator;

namespace EventImaging.Benchmarks;

/// <summary>What every section of a run shares: the servers, the run's virtual host and database, the simulator, the bus.</summary>
internal sealed class BenchContext(
    BenchOptions options,
    BenchServers servers,
    string runName,
    Uri broker,
    string ledger,
    Uri simulatorUrl,
    SimulatorState simulator,
    ProviderBodies bodies,
    BenchBus bus,
    LedgerSeeder seeder,
    BenchReport report) : IDisposable
{
    private readonly Stopwatch clock = Stopwatch.StartNew();

    public BenchOptions Options => options;

    public BenchServers Servers => servers;

    /// <summary>Names this run's virtual host and databases (<c>bench_…</c>), apart from anything the tests create.</summary>
    public string RunName => runName;

    public Uri Broker => broker;

    public string Ledger => ledger;

    public Uri SimulatorUrl => simulatorUrl;

    public SimulatorState Simulator => simulator;

    public ProviderBodies Bodies => bodies;

    public BenchBus Bus => bus;

    public LedgerSeeder Seeder => seeder;

    public BenchReport Report => report;

    public HttpLoad Http { get; } = new();

    /// <summary>
    /// The settings of a deployed service of this run (environment variables of its process), plus any
    /// <c>NAME=value</c> pairs in <c>EVENTIMAGING_BENCH_SERVICE_ENV</c> (separated by <c>;</c>), for profiling
    /// the services alone, e.g. <c>DOTNET_gcServer=0</c>.
    /// </summary>
    public Dictionary<string, string?> ServiceSettings()
    {
        var settings = Settings.ForServices(broker, ledger, simulatorUrl);
        foreach (var pair in (Environment.GetEnvironmentVariable("EVENTIMAGING_BENCH_SERVICE_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                settings[pair[..equals].Trim()] = pair[(equals + 1)..];
            }
        }

        return settings;
    }

    /// <summary>Records a service process's resident memory in one phase (and, given its pid, what it is made of now).</summary>
    public void Footprint(string service, string phase, double? rss, int? pid = null)
    {
        var breakdown = pid is { } id ? ProcessMemory.Breakdown(id) : null;
        report.Footprint.Add(new FootprintResult(service, phase, rss ?? double.NaN, breakdown));
        Log($"{service} RSS {phase}: {rss:F0} MB {breakdown}");
    }

    /// <summary>
    /// Records a process's resident memory once it has been left alone for two seconds: its idle figure, after
    /// start-up or after a load, without the last request's garbage or the start-up's last allocations.
    /// </summary>
    public async Task IdleFootprintAsync(string service, string phase, int pid)
    {
        await Task.Delay(TimeSpan.FromSeconds(2));
        Footprint(service, phase, ProcessMemory.RssMB(pid), pid);
    }

    public void Log(string message) => Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {message}");

    public void Section(string name)
    {
        var load = MachineInfo.LoadAverage();
        report.LoadAverages.Add($"{name}: {load}");
        Log($"== {name} (load average {load})");
    }

    public void Dispose() => Http.Dispose();
}
