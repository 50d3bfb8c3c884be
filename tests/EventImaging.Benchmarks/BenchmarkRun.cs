using System.Diagnostics;
using System.Globalization;
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
    /// <summary>The issue's bound on the full run, so that it is run often.</summary>
    private const int FullRunBudgetSeconds = 600;

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

            // The parts stay ready after the baseline section: the callback section's rounds measure them again.
            await using var baseline = new BaselineSection(context);

            // The micro-benchmarks run first, in-process, before the other sections leave the machine busy (the
            // database's clean-up) and this process's heap large; the memory section runs after the sections whose
            // maxima it holds each service at half of.
            (string Name, Func<Task> Run)[] sections =
            [
                ("micro", () =>
                {
                    new MicroSection(context).Run();
                    return Task.CompletedTask;
                }),
                ("baseline", () => baseline.RunAsync(roundsFollow: options.Runs("callbacks"))),
                ("callbacks", async () =>
                {
                    await new CallbackSection(context, options.Runs("baseline") ? baseline : null, composed: options.Runs("composition")).RunAsync();
                    await baseline.DisposeAsync();
                }),
                ("archiving", () => new ArchivingSection(context).RunAsync()),
                ("submission", () => new SubmissionSection(context).RunAsync()),
                ("polling", () => new PollingSection(context).RunAsync()),
                ("memory", () => new MemoryLimitSection(context).RunAsync()),
            ];
            foreach (var (name, run) in sections.Where(s => options.Runs(s.Name)))
            {
                var started = clock.Elapsed;
                await run();
                report.SectionTimes.Add(new SectionTime(name, (clock.Elapsed - started).TotalSeconds));
            }
        }

        report.DurationSeconds = clock.Elapsed.TotalSeconds;
        report.Notes.AddRange(Targets.Notes(report));
        if (!options.Quick && options.IsFullRun && report.DurationSeconds > FullRunBudgetSeconds)
        {
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"**Over time:** the full run took {report.DurationSeconds:F0} s, over its budget of {FullRunBudgetSeconds} s (see the time per section)."));
        }

        report.Targets = Targets.Of(report);
        var faults = Targets.Faults(report);
        report.Notes.AddRange(faults.Select(fault => $"**Fault:** {fault}"));
        ReportWriter.Write(report, options.Results);
        Console.WriteLine();
        Console.WriteLine(ReportWriter.Markdown(report));
        Console.WriteLine($"Written to {Path.GetRelativePath(Environment.CurrentDirectory, options.Results)}/latest.md, latest.json, latest.svg, latest.png.");
        Console.WriteLine($"Took {report.DurationSeconds:F0} s: " + string.Join(", ", report.SectionTimes.Select(t => $"{t.Section} {t.Seconds:F0} s")) + ".");
        foreach (var fault in faults)
        {
            Console.Error.WriteLine($"Fault: {fault}");
        }

        return faults.Count == 0 ? 0 : 3;
    }
}
