using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Ledger;
using EventImaging.Benchmarks.Load;
using EventImaging.Benchmarks.Report;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Messaging;
using EventImaging.Core.Providers;
using EventImaging.Core.Providers.Evolink;
using EventImaging.IntegrationTests.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// What the broker, HTTP and the database alone can do on this machine, driven like the product: MassTransit
/// publishing (publisher confirms on) an ImageCompleted as large as the receiver's to a subscriber on the same broker,
/// a bare Kestrel endpoint answering callback-shaped POSTs with 200, and a callback's ledger statements.
/// </summary>
internal sealed class BaselineSection(BenchContext context)
{
    /// <summary>
    /// Operations in flight at each closed-loop level of the parts. Each part reached its best at 192 or 384 in flight
    /// (2026-12-07, 64 to 768 tried: publish+consume 6,277 / 9,134 / 10,812 / 7,963 msg/s, bare Kestrel 36,526 / 40,125 /
    /// 33,421 / 31,430 req/s, the ledger statements 5,375 / 11,511 / 13,634 / 11,588 a second); a quick run keeps one.
    /// </summary>
    public static int[] Levels(BenchOptions options) => options.Quick ? [64] : [192, 384];

    public async Task RunAsync()
    {
        context.Section("baseline");
        var message = RepresentativeEvent();
        var messageBytes = JsonSerializer.SerializeToUtf8Bytes(message, EventJson.Options).Length;

        // The parts' client side runs in this process, fresh and still JIT-compiling them: each is warmed up at the first
        // level until that work goes quiet. A fixed 2–3 s was not enough: the first level measured 6,214–6,408 msg/s at
        // 192–203 µs of the benchmark's CPU per message, the next 105–155 µs.
        var warmUp = Levels(context.Options)[0];
        var publishLevels = new List<RateLevel>();
        await WarmUpAsync("MassTransit publish+consume", () => PublishAsync(message, warmUp, context.Options.Duration(2)), context.Options.Duration(12));
        foreach (var concurrency in Levels(context.Options))
        {
            var level = await PublishAsync(message, concurrency, context.Options.Duration(5));
            publishLevels.Add(level);
            context.Log($"MassTransit publish+consume, {concurrency} in flight: {level.RatePerSecond:F0} msg/s");
        }

        var httpLevels = new List<RateLevel>();
        await using (var server = await ServiceProcess.StartAssemblyAsync(
            typeof(BareHttpServer).Assembly.Location,
            new Dictionary<string, string?> { ["DOTNET_gcServer"] = "1" },
            output: null,
            BareHttpServer.Flag))
        {
            context.Report.Footprint.Add(new FootprintResult("bare Kestrel (reference)", "idle", ProcessMemory.RssMB(server.ProcessId) ?? double.NaN, ProcessMemory.Breakdown(server.ProcessId)));
            await using var rss = new RssSampler(server.ProcessId);
            await PostAsync(server.BaseUrl, server.ProcessId, warmUp, context.Options.Duration(2));
            // One level: the HTTP part is a tenth of the parts' cost, and 192 and 384 in flight measured within 20 % of
            // each other in seven runs of 2026-12-07 (34,110–56,896 and 33,421–54,243 req/s): the run has no 5 s to spare.
            foreach (var concurrency in Levels(context.Options).Take(1))
            {
                var level = await PostAsync(server.BaseUrl, server.ProcessId, concurrency, context.Options.Duration(5));
                httpLevels.Add(level);
                context.Log($"bare Kestrel 200, {concurrency} in flight: {level.RatePerSecond:F0} req/s");
            }

            context.Report.Footprint.Add(new FootprintResult("bare Kestrel (reference)", "peak under load", rss.Max, ProcessMemory.Breakdown(server.ProcessId)));
        }

        var ledgerLevels = new List<RateLevel>();
        // Its JIT goes nearly quiet after 6–8 s (5–7 % of the benchmark's CPU, the statements' client side at 35–46 µs
        // a callback), never to 2 %: the limit ends it.
        await WarmUpAsync("a callback's ledger statements", () => LedgerStatementsAsync(warmUp, context.Options.Duration(2), measured: false), context.Options.Duration(8));
        foreach (var concurrency in Levels(context.Options))
        {
            var level = await LedgerStatementsAsync(concurrency, context.Options.Duration(5));
            ledgerLevels.Add(level);
            context.Log($"a callback's ledger statements, group-committed, {concurrency} in flight: {level.RatePerSecond:F0}/s; CPU µs each: {level.CpuPerOperation}");
        }

        context.Report.Baseline = new BaselineResults(
            messageBytes,
            publishLevels,
            publishLevels.Max(l => l.RatePerSecond),
            httpLevels,
            httpLevels.Max(l => l.RatePerSecond),
            ledgerLevels,
            ledgerLevels.Max(l => l.RatePerSecond));
    }

    /// <summary>
    /// Runs <paramref name="chunk"/> until this process's background JIT took at most 2 % of its CPU in one, for at
    /// most <paramref name="limit"/>. A part has no service process, so its chunks' service CPU is 0 and
    /// <see cref="WarmUp"/>'s plateau test always agrees: the JIT alone decides.
    /// </summary>
    private async Task WarmUpAsync(string part, Func<Task<RateLevel>> chunk, TimeSpan limit)
    {
        var chunks = await WarmUp.UntilSteadyAsync(Environment.ProcessId, _ => chunk(), TimeSpan.Zero, limit, (level, jit) =>
            context.Log($"{part} warm-up, {Levels(context.Options)[0]} in flight: {level.RatePerSecond:F0}/s; CPU µs each: {level.CpuPerOperation}; background JIT {jit:P0} of the benchmark's CPU"));
        context.Report.Notes.Add($"The baseline of {part} was warmed up with {chunks.Count} runs of 2 s until the benchmark's own background JIT went quiet, or for at most {limit.TotalSeconds:F0} s: "
            + string.Join(" → ", chunks.Select(l => $"{l.RatePerSecond:F0}/s at {l.CpuPerOperation?.Machine:F0} µs")) + ".");
    }

    /// <summary>
    /// The database's share of a callback alone: the statements the receiver runs for it (read the row, the
    /// conditional terminal update with the event, mark it published), through the product's own group commit
    /// (<see cref="LedgerBatches"/>, on the product's pool settings) on seeded rows, without HTTP or the broker.
    /// </summary>
    private async Task<RateLevel> LedgerStatementsAsync(int concurrency, TimeSpan duration, bool measured = true)
    {
        var rows = await context.Seeder.SeedSubmittedAsync((int)(10_000 * duration.TotalSeconds));
        var tracker = new CompletionTracker(rows.Count);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Ledger"] = context.Ledger });
        builder.AddLedger();
        builder.AddOutbox();
        var ledger = builder.Build();
        await using var disposing = (IAsyncDisposable)ledger;
        var batches = ledger.Services.GetRequiredService<LedgerBatches>();
        using var batchSizes = new BatchSizeListener(ledger.Services.GetRequiredService<IMeterFactory>());
        var evolink = new EvolinkClient(new HttpClient(), Options.Create(new EvolinkOptions()));
        var cpu = new CpuMeter(null);
        var window = await LoadRunner.ClosedLoopAsync(concurrency, duration, rows.Count, async i =>
        {
            tracker.Started(i, Stopwatch.GetTimestamp());
            var task = evolink.ParseCallback(context.Bodies.EvolinkCallbackFor(rows.TaskIds[i]));
            var row = await batches.FindAsync(rows.Ids[i], CancellationToken.None)
                ?? throw new InvalidOperationException($"Seeded row {rows.Ids[i]} is missing.");
            var outcome = TerminalOutcome.ForTask(row, task, evolink.Capabilities.ResultUrlLifetime, CompletionPaths.Callback, DateTimeOffset.UtcNow);
            if (await batches.TryFinishAsync(row.RequestId, outcome, task.TaskId, CancellationToken.None))
            {
                await batches.MarkEventPublishedAsync(row.RequestId, CancellationToken.None);
                tracker.Completed(i, Stopwatch.GetTimestamp());
            }
            else
            {
                tracker.Fail();
            }
        });
        var level = Level(concurrency, tracker, window, duration, cpu);
        if (measured)
        {
            context.Report.Notes.Add($"Group commit of the ledger baseline at {concurrency} in flight: {batchSizes}.");
        }

        return level;
    }

    private async Task<RateLevel> PublishAsync(ImageCompleted message, int concurrency, TimeSpan duration)
    {
        // Ample for any broker this machine could run; unused ids cost only memory.
        var ids = Enumerable.Range(0, (int)(25_000 * duration.TotalSeconds)).Select(_ => Guid.NewGuid()).ToArray();
        var tracker = new CompletionTracker(ids.Length);
        context.Bus.Completed = tracker.CompletesFor(ids);

        var cpu = new CpuMeter(null);
        var window = await LoadRunner.ClosedLoopAsync(concurrency, duration, ids.Length, async i =>
        {
            tracker.Started(i, Stopwatch.GetTimestamp());
            await context.Bus.Bus.Publish(message with { RequestId = ids[i] });
        });
        await tracker.DrainAsync(window.Sent, TimeSpan.FromSeconds(30));
        return Level(concurrency, tracker, window, duration, cpu);
    }

    private async Task<RateLevel> PostAsync(Uri server, int pid, int concurrency, TimeSpan duration)
    {
        // The same URL and body sizes as a real callback.
        var body = context.Bodies.EvolinkCallbackFor("task-unified-1800000000-00000000");
        var url = new Uri(server, $"/callbacks/evolink/{new string('t', 200)}");
        var tracker = new CompletionTracker((int)(60_000 * duration.TotalSeconds));
        context.Http.ResetErrors();
        var cpu = new CpuMeter(pid);
        var window = await LoadRunner.ClosedLoopAsync(concurrency, duration, tracker.Capacity, async i =>
        {
            tracker.Started(i, Stopwatch.GetTimestamp());
            if (await context.Http.PostAsync(url, body))
            {
                tracker.Completed(i, Stopwatch.GetTimestamp());
            }
            else
            {
                tracker.Fail();
            }
        });
        return Level(concurrency, tracker, window, duration, cpu);
    }

    /// <summary>
    /// The completion rate after the first fifth of the run (connections, JIT and queues have settled), and the CPU
    /// the run cost per completed operation.
    /// </summary>
    public static RateLevel Level(int concurrency, CompletionTracker tracker, LoadWindow window, TimeSpan duration, CpuMeter cpu) =>
        new(concurrency, tracker.CompletionRate(window.Start + CompletionTracker.Ticks(duration / 5), window.End), window.Sent, tracker.Failed,
            cpu.Elapsed().PerOperation(tracker.CompletedCount));

    /// <summary>An ImageCompleted as the receiver publishes it for a simulator task: the same fields, lengths and metadata.</summary>
    private ImageCompleted RepresentativeEvent()
    {
        var evolink = new EvolinkClient(new HttpClient(), Options.Create(new EvolinkOptions()));
        var task = evolink.ParseCallback(context.Bodies.EvolinkCallbackFor("task-unified-1800000000-00000000"));
        var row = new ImageRequest
        {
            RequestId = Guid.NewGuid(),
            Provider = "evolink",
            Model = "gpt-image-1.5",
            CommandJson = JsonSerializer.Serialize(
                new GenerateImage
                {
                    RequestId = Guid.NewGuid(),
                    Prompt = "A lighthouse at dusk, oil painting",
                    Metadata = new Dictionary<string, string> { ["order"] = "42", ["tenant"] = "benchmark" },
                },
                EventJson.Options),
        };
        var outcome = TerminalOutcome.ForTask(row, task, evolink.Capabilities.ResultUrlLifetime, CompletionPaths.Callback, DateTimeOffset.UtcNow);
        return JsonSerializer.Deserialize<ImageCompleted>(outcome.EventJson, EventJson.Options)!;
    }
}
