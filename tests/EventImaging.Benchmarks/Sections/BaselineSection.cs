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
internal sealed class BaselineSection(BenchContext context) : IAsyncDisposable
{
    private readonly List<RateLevel> publishLevels = [];
    private readonly List<RateLevel> httpLevels = [];
    private readonly List<RateLevel> ledgerLevels = [];

    // Its own client: the callback section counts its receiver's errors on the run's, and the parts run between them.
    private readonly HttpLoad client = new();
    private ImageCompleted? message;
    private ServiceProcess? bareKestrel;
    private RssSampler? bareKestrelRss;

    /// <summary>
    /// The level each part is measured at: its best. Of 64 to 768 in flight tried on 2026-12-07, publish+consume did best
    /// at 192 (6,277 / 9,134 / 10,812 / 7,963 msg/s at 64 / 192 / 384 / 768). In the six full runs of 2026-12-07 that
    /// then measured 192 and 384, publish+consume cost the least machine CPU a message at 192 in four and within 5 % of
    /// it in the other two, the ledger statements the least a callback at 384 in all six (or equal), and bare Kestrel,
    /// a tenth of the parts' cost, was within 20 % at either (34,110–56,896 and 33,421–54,243 req/s in seven runs).
    /// A quick run keeps 64.
    /// </summary>
    public static (int Publish, int Http, int Ledger) Levels(BenchOptions options) => options.Quick ? (64, 64, 64) : (192, 192, 384);

    /// <summary>
    /// Warms every part up (the bare Kestrel process stays up until disposed), then measures them once, unless the
    /// callback section measures them in its rounds (<paramref name="roundsFollow"/>), beside the receiver.
    /// </summary>
    public async Task RunAsync(bool roundsFollow)
    {
        context.Section("baseline");
        message = RepresentativeEvent();
        var levels = Levels(context.Options);

        // The parts' client side runs in this process, fresh and still JIT-compiling them: each is warmed up until that
        // work goes quiet. A fixed 2–3 s was not enough: the first level measured 6,214–6,408 msg/s at 192–203 µs of the
        // benchmark's CPU per message, the next 105–155 µs.
        await WarmUpAsync("MassTransit publish+consume", levels.Publish, () => PublishAsync(message, levels.Publish, context.Options.Duration(2)), context.Options.Duration(12));

        bareKestrel = await ServiceProcess.StartAssemblyAsync(
            typeof(BareHttpServer).Assembly.Location,
            new Dictionary<string, string?> { ["DOTNET_gcServer"] = "1" },
            output: null,
            BareHttpServer.Flag);
        context.Report.Footprint.Add(new FootprintResult("bare Kestrel (reference)", "idle", ProcessMemory.RssMB(bareKestrel.ProcessId) ?? double.NaN, ProcessMemory.Breakdown(bareKestrel.ProcessId)));
        bareKestrelRss = new RssSampler(bareKestrel.ProcessId);
        await PostAsync(levels.Http, context.Options.Duration(2));

        // Its JIT goes nearly quiet after 6–8 s (5–7 % of the benchmark's CPU, the statements' client side at 35–46 µs
        // a callback), never to 2 %: the limit ends it.
        await WarmUpAsync("a callback's ledger statements", levels.Ledger, () => LedgerStatementsAsync(levels.Ledger, context.Options.Duration(2), measured: false), context.Options.Duration(8));
        if (roundsFollow)
        {
            context.Log("the parts are measured in the callback section's rounds, each beside the receiver and the plain receiver");
        }
        else
        {
            await MeasureAsync();
            await DisposeAsync();
        }
    }

    /// <summary>Each part once, at its level, one after the other: publish+consume, bare Kestrel, the ledger statements.</summary>
    public async Task<PartsRound> MeasureAsync()
    {
        var levels = Levels(context.Options);
        var duration = CallbackSection.RoundDuration(context.Options);
        var publish = await PublishAsync(message!, levels.Publish, duration);
        publishLevels.Add(publish);
        context.Log($"MassTransit publish+consume, {levels.Publish} in flight: {publish.RatePerSecond:F0} msg/s; CPU µs each: {publish.CpuPerOperation}");
        var http = await PostAsync(levels.Http, duration);
        httpLevels.Add(http);
        context.Log($"bare Kestrel 200, {levels.Http} in flight: {http.RatePerSecond:F0} req/s; CPU µs each: {http.CpuPerOperation}");
        var ledger = await LedgerStatementsAsync(levels.Ledger, duration);
        ledgerLevels.Add(ledger);
        context.Log($"a callback's ledger statements, group-committed, {levels.Ledger} in flight: {ledger.RatePerSecond:F0}/s; CPU µs each: {ledger.CpuPerOperation}");

        // Each part's figure is the median of its rounds, as the receiver's is.
        context.Report.Baseline = new BaselineResults(
            JsonSerializer.SerializeToUtf8Bytes(message, EventJson.Options).Length,
            publishLevels,
            Medians.Of(publishLevels, l => l.RatePerSecond).RatePerSecond,
            httpLevels,
            Medians.Of(httpLevels, l => l.RatePerSecond).RatePerSecond,
            ledgerLevels,
            Medians.Of(ledgerLevels, l => l.RatePerSecond).RatePerSecond);
        return new PartsRound(ledger, publish, http);
    }

    /// <summary>Ends the bare Kestrel process (after the rounds, or at the end of the run); once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (bareKestrelRss is { } rss)
        {
            context.Report.Footprint.Add(new FootprintResult("bare Kestrel (reference)", "peak under load", rss.Max, bareKestrel is { } p ? ProcessMemory.Breakdown(p.ProcessId) : null));
            await rss.DisposeAsync();
            bareKestrelRss = null;
        }

        if (bareKestrel is { } process)
        {
            await process.DisposeAsync();
            bareKestrel = null;
        }

        client.Dispose();
    }

    /// <summary>
    /// Runs <paramref name="chunk"/> until this process's background JIT took at most 2 % of its CPU in one, for at
    /// most <paramref name="limit"/>. A part has no service process, so its chunks' service CPU is 0 and
    /// <see cref="WarmUp"/>'s plateau test always agrees: the JIT alone decides.
    /// </summary>
    private async Task WarmUpAsync(string part, int concurrency, Func<Task<RateLevel>> chunk, TimeSpan limit)
    {
        var chunks = await WarmUp.UntilSteadyAsync(Environment.ProcessId, _ => chunk(), TimeSpan.Zero, limit, (level, jit) =>
            context.Log($"{part} warm-up, {concurrency} in flight: {level.RatePerSecond:F0}/s; CPU µs each: {level.CpuPerOperation}; background JIT {jit:P0} of the benchmark's CPU"));
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
            context.Report.Notes.Add($"Group commit of the ledger baseline at {concurrency} in flight, round {ledgerLevels.Count + 1}: {batchSizes}.");
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

    private async Task<RateLevel> PostAsync(int concurrency, TimeSpan duration)
    {
        var (server, pid) = (bareKestrel!.BaseUrl, bareKestrel.ProcessId);
        // The same URL and body sizes as a real callback.
        var body = context.Bodies.EvolinkCallbackFor("task-unified-1800000000-00000000");
        var url = new Uri(server, $"/callbacks/evolink/{new string('t', 200)}");
        var tracker = new CompletionTracker((int)(60_000 * duration.TotalSeconds));
        var cpu = new CpuMeter(pid);
        var window = await LoadRunner.ClosedLoopAsync(concurrency, duration, tracker.Capacity, async i =>
        {
            tracker.Started(i, Stopwatch.GetTimestamp());
            if (await client.PostAsync(url, body))
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
