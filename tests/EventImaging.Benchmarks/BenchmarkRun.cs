using System.Diagnostics;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Messaging;
using EventImaging.Benchmarks.Report;
using EventImaging.Benchmarks.Sections;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.ProviderSimulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Benchmarks;

/// <summary>One run: servers, a fresh virtual host and database, the simulator, every section, the report.</summary>
internal static class BenchmarkRun
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var clock = Stopwatch.StartNew();
        var report = new BenchReport { StartedAt = DateTimeOffset.UtcNow, Quick = options.Quick };
        var runName = $"bench_{DateTime.UtcNow:yyyyMMdd_HHmmss}_{Guid.NewGuid().ToString("N")[..6]}";

        await using var servers = await BenchServers.StartAsync(options.Runs("archiving"));
        report.Machine = await MachineInfo.ReadAsync(servers.RabbitMq, servers.Postgres);
        Console.WriteLine($"EventImaging benchmark ({(options.Quick ? "quick" : "full")}): {report.Machine.Cores} cores, {report.Machine.MemoryGiB} GiB, "
            + $"{report.Machine.Os}, {report.Machine.DotNet}, RabbitMQ {report.Machine.RabbitMq}, PostgreSQL {report.Machine.PostgreSql}; run {runName}");

        var broker = await servers.RabbitMq.CreateVirtualHostAsync(runName.Replace('_', '-'));
        var ledger = await servers.Postgres.CreateDatabaseAsync(runName);

        // The product's own composition for the ledger and the callback tokens (the key ring lives in the ledger).
        var ledgerBuilder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        ledgerBuilder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Ledger"] = ledger });
        ledgerBuilder.AddLedger();
        ledgerBuilder.AddCallbackTokens();
        using var ledgerServices = ledgerBuilder.Build();
        await using (var scope = ledgerServices.Services.CreateAsyncScope())
        {
            await LedgerSchema.ApplyAsync(scope.ServiceProvider.GetRequiredService<LedgerDbContext>(), CancellationToken.None);
        }

        var tokens = ledgerServices.Services.GetRequiredService<CallbackTokens>();
        // Creates the key ring before any service starts, so every process loads the same one.
        tokens.Mint(Guid.NewGuid(), LedgerSeeder.Provider, DateTimeOffset.UtcNow.AddMinutes(1));

        var simulator = await LoopbackApp.StartAsync(
            new Dictionary<string, string?> { ["Simulator:AllowInsecureCallbacks"] = "true" },
            builder => builder.AddProviderSimulator(),
            app => app.MapProviderSimulator());
        await using (simulator)
        {
            var simulatorState = simulator.Services.GetRequiredService<SimulatorState>();
            var bodies = await ProviderBodies.CaptureAsync(simulator.BaseUrl(), simulatorState);
            await using var bus = await BenchBus.StartAsync(broker);
            using var context = new BenchContext(
                options, servers, runName, broker, ledger, simulator.BaseUrl(), simulatorState, bodies, bus,
                new LedgerSeeder(ledger, tokens), report);

            if (options.Runs("baseline"))
            {
                await new BaselineSection(context).RunAsync();
            }

            if (options.Runs("callbacks"))
            {
                await new CallbackSection(context).RunAsync();
            }

            if (options.Runs("archiving"))
            {
                await new ArchivingSection(context).RunAsync();
            }

            if (options.Runs("submission"))
            {
                await new SubmissionSection(context).RunAsync();
            }

            if (options.Runs("polling"))
            {
                await new PollingSection(context).RunAsync();
            }

            if (options.Runs("micro"))
            {
                new MicroSection(context).Run();
            }
        }

        report.DurationSeconds = clock.Elapsed.TotalSeconds;
        Targets.Evaluate(report);
        var faults = Targets.Faults(report);
        report.Notes.AddRange(faults.Select(fault => $"**Fault:** {fault}"));
        ReportWriter.Write(report, options.Results);
        Console.WriteLine();
        Console.WriteLine(ReportWriter.Markdown(report));
        Console.WriteLine($"Written to {Path.GetRelativePath(Environment.CurrentDirectory, options.Results)}/latest.md, latest.json, latest.svg, latest.png ({report.DurationSeconds:F0} s).");
        foreach (var fault in faults)
        {
            Console.Error.WriteLine($"Fault: {fault}");
        }

        return faults.Count == 0 ? 0 : 3;
    }
}
