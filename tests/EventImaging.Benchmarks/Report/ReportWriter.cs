using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Text.Json.Serialization;
using EventImaging.Benchmarks.Infrastructure;
using ScottPlot;

namespace EventImaging.Benchmarks.Report;

/// <summary>Writes latest.json, latest.md and the latency chart (latest.svg, latest.png).</summary>
internal static partial class ReportWriter
{
    public const string Command = "dotnet run -c Release --project tests/EventImaging.Benchmarks";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Reads a report written by <see cref="Write"/> (latest.json). Its targets are decided again from its figures, so
    /// that a report saved before a target changed renders with today's targets.
    /// </summary>
    public static BenchReport Read(string json)
    {
        var node = JsonNode.Parse(File.ReadAllText(json)) as JsonObject ?? throw new InvalidDataException($"{json} holds no report.");
        node.Remove("targets");
        var report = node.Deserialize<BenchReport>(Json) ?? throw new InvalidDataException($"{json} holds no report.");
        report.Targets = Targets.Of(report);
        return report;
    }

    /// <summary>
    /// Writes the report to <paramref name="directory"/>; when that is the repository's results directory (the
    /// committed report), the README's Performance table too, so that the two never disagree.
    /// </summary>
    public static void Write(BenchReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        report.ClaimPlan = report.ClaimPlan is null ? null : ShortLines(report.ClaimPlan);
        File.WriteAllText(Path.Combine(directory, "latest.json"), JsonSerializer.Serialize(report, Json) + "\n");
        File.WriteAllText(Path.Combine(directory, "latest.md"), Markdown(report));
        if (report.Callbacks is { OpenLoop.Count: > 0 } callbacks)
        {
            Chart(callbacks, directory);
        }

        if (Path.GetFullPath(directory) == Path.GetFullPath(RepositoryPaths.Results))
        {
            ReadmeTable.Write(report);
        }
    }

    /// <summary>The targets as a markdown table: latest.md's and the README's.</summary>
    public static string TargetsTable(BenchReport report)
    {
        var md = new StringBuilder();
        Table(md, ["target", "measured", "goal", "met", "how"], report.Targets.Select(t => new[]
        {
            $"{t.Label} (`{t.Id}`)",
            t.Measured is { } measured ? Figure(measured, t.Unit) : "–",
            $"{(t.Direction == "at most" ? "≤" : "≥")} {Figure(t.Target, t.Unit)}",
            t.Met ? "yes" : "**no**",
            t.Detail,
        }));
        return md.ToString();
    }

    private static string Figure(double value, string unit) => unit switch
    {
        "ms" => Invariant($"{value:N1} ms"),
        "ratio" => Invariant($"{value:F2}"),
        _ => Invariant($"{value:N0} {unit}"),
    };

    public static string Markdown(BenchReport report)
    {
        var md = new StringBuilder();
        md.AppendLine("# EventImaging benchmark: latest run").AppendLine();
        md.AppendLine(Invariant($"Started {report.StartedAt:yyyy-MM-dd HH:mm} UTC, {report.DurationSeconds:F0} s, {(report.Quick ? "quick (--quick: short runs, fewer levels)" : "full")} run of `{Command}`."));
        md.AppendLine("Everything on loopback: real RabbitMQ and PostgreSQL, the provider simulator, the services as their own processes.").AppendLine();
        if (report.SectionTimes.Count > 0)
        {
            md.AppendLine("Time per section: " + string.Join(", ", report.SectionTimes.Select(t => Invariant($"{t.Section} {t.Seconds:F0} s"))) + ".").AppendLine();
        }

        if (report.Machine is { } m)
        {
            md.AppendLine("## Machine").AppendLine();
            Table(md, ["machine", ""],
            [
                ["cores", m.Cores.ToString(CultureInfo.InvariantCulture)],
                ["CPU", m.Cpu],
                ["memory", Invariant($"{m.MemoryGiB:F1} GiB")],
                ["OS", $"{m.Os}, kernel {m.Kernel}"],
                [".NET", m.DotNet],
                ["RabbitMQ", $"{m.RabbitMq} (Erlang {m.Erlang})"],
                ["PostgreSQL", m.PostgreSql],
            ]);
            md.AppendLine("Load average (1, 5, 15 min) as each section started: " + string.Join("; ", report.LoadAverages) + ".").AppendLine();
        }

        if (report.Targets.Count > 0)
        {
            md.AppendLine("## Targets").AppendLine();
            md.Append(TargetsTable(report));
        }

        if (report.Baseline is { } baseline)
        {
            md.AppendLine("## 1. Baselines").AppendLine();
            md.AppendLine(Invariant($"MassTransit publish (publisher confirms) + consume of an `ImageCompleted` like the receiver's ({baseline.MessageJsonBytes} bytes of JSON before MassTransit's envelope), same broker, closed loop:")).AppendLine();
            Table(md, ["round", "in flight", "msg/s", "sent", CpuHeader], baseline.MassTransit.Select((l, i) => new[] { Num(i + 1), Num(l.Concurrency), Num(l.RatePerSecond), Num(l.Sent), Cpu(l.CpuPerOperation) }));
            md.AppendLine("Bare Kestrel (own process, the callback route, reads the body, answers 200), same HTTP client and closed loop as the callbacks:").AppendLine();
            Table(md, ["round", "in flight", "req/s", "failed", CpuHeader], baseline.Http.Select((l, i) => new[] { Num(i + 1), Num(l.Concurrency), Num(l.RatePerSecond), Num(l.Failed), Cpu(l.CpuPerOperation) }));
            md.AppendLine("The database's share of a callback alone: its ledger statements (read the row, the conditional terminal update carrying the event, mark it published) through the receiver's own group commit (`LedgerBatches`) on seeded rows, without HTTP or the broker:").AppendLine();
            Table(md, ["round", "in flight", "callbacks/s", "failed", CpuHeader], baseline.Ledger.Select((l, i) => new[] { Num(i + 1), Num(l.Concurrency), Num(l.RatePerSecond), Num(l.Failed), Cpu(l.CpuPerOperation) }));
        }

        if (report.Callbacks is { } callbacks)
        {
            md.AppendLine("## 2. Callback ingestion").AppendLine();
            md.AppendLine(Invariant($"`POST /callbacks/evolink/{{token}}` to the WebhookReceiver process (token minted by `CallbackTokens`, row pre-seeded in `submitted`, the simulator's {callbacks.BodyBytes}-byte evolink body) → `ImageCompleted` consumed by a MassTransit subscriber. Maximum rate, closed loop, one row a round (the maximum is their median):")).AppendLine();
            Table(md, ["round", "in flight", "callbacks/s", "failed", CpuHeader], callbacks.ClosedLoop.Select((l, i) => new[] { Num(i + 1), Num(l.Concurrency), Num(l.RatePerSecond), Num(l.Failed), Cpu(l.CpuPerOperation) }));
            if (callbacks.Rounds is { Count: > 0 } rounds && report.Machine is { } machine)
            {
                md.AppendLine("The comparisons' rounds: in each, the parts (the baselines above, in order), the receiver and the plain receiver were measured one right after the other; each comparative target is the median of its rounds' ratios:").AppendLine();
                Table(md, ["round", "parts' machine CPU µs", "their bound/s", "receiver/s", "plain receiver/s", "receiver / bound", "receiver / plain"],
                    rounds.Select((r, i) => new[]
                    {
                        Num(i + 1),
                        r.Parts is { } p ? Num(p.MachineMicroseconds) : "",
                        r.Parts is { } q ? Num(q.Bound(machine.Cores)) : "",
                        Num(r.Receiver.RatePerSecond),
                        Num(r.Plain.RatePerSecond),
                        r.Parts is { } b ? Invariant($"{r.Receiver.RatePerSecond / b.Bound(machine.Cores):F2}") : "",
                        Invariant($"{r.Receiver.RatePerSecond / r.Plain.RatePerSecond:F2}"),
                    }));
            }
            md.AppendLine("Latency at a constant rate (open loop; from when each POST was due to when its `ImageCompleted` was consumed):").AppendLine();
            Table(md, ["share of max", "rate/s", "sent", "p50 ms", "p95 ms", "p99 ms", "max ms", "failed", "missing"],
                callbacks.OpenLoop.Select(p => new[]
                {
                    Invariant($"{p.FractionOfMax:P0}"), Num(p.OfferedRate), Num(p.Sent), Ms(p.Latency.P50), Ms(p.Latency.P95), Ms(p.Latency.P99), Ms(p.Latency.Max), Num(p.Failed), Num(p.Latency.Missing),
                }));
            if (callbacks.OpenLoop.All(p => p.Stages is not null))
            {
                md.AppendLine("Where that time went, p50 / p99 ms of each part: the load generator's lag behind the schedule, due → the POST left; the receiver's answer, POST → 200 (it answers after the event is published and marked, so the subscriber usually has the event first); the event's way, 200 → consumed (negative when the event arrived first):").AppendLine();
                Table(md, ["share of max", "sender's lag", "receiver's answer", "200 → event consumed"],
                    callbacks.OpenLoop.Select(p => new[]
                    {
                        Invariant($"{p.FractionOfMax:P0}"), $"{Ms(p.Stages!.Lag.P50)} / {Ms(p.Stages.Lag.P99)}", $"{Ms(p.Stages.Answer.P50)} / {Ms(p.Stages.Answer.P99)}", $"{Ms(p.Stages.Delivery.P50)} / {Ms(p.Stages.Delivery.P99)}",
                    }));
            }

            if (callbacks.PlainReceiver is { } plain)
            {
                md.AppendLine("A plain receiver on the same libraries (Kestrel, MassTransit on RabbitMQ, EF Core on Npgsql; its own process, warmed up alike): each POST reads the body, reads the row by key through EF Core and publishes an `ImageCompleted` with the same fields; no token, no write, no group commit, no log line, no telemetry:").AppendLine();
                Table(md, ["", "rate/s", "sent", "failed", "missing", "p50 ms", "p95 ms", "p99 ms", "max ms", CpuHeader],
                [
                    [Invariant($"maximum (the median round), {plain.Max.Concurrency} in flight"), Num(plain.Max.RatePerSecond), Num(plain.Max.Sent), Num(plain.Max.Failed), "", "", "", "", "", Cpu(plain.Max.CpuPerOperation)],
                    .. new[] { (Name: "open loop at 50 % of its maximum", Point: plain.AtHalfOfItsMax), (Name: "open loop at the receiver's 50 % rate", Point: plain.AtReceiversHalf) }.Select(p => new[]
                    {
                        p.Name, Num(p.Point.OfferedRate), Num(p.Point.Sent), Num(p.Point.Failed), Num(p.Point.Latency.Missing), Ms(p.Point.Latency.P50), Ms(p.Point.Latency.P95), Ms(p.Point.Latency.P99), Ms(p.Point.Latency.Max), "",
                    }),
                ]);
                if (plain.DuplicateEvents > 0 || plain.LostEvents > 0)
                {
                    md.AppendLine($"The plain receiver's events: {plain.LostEvents} never came after a 200, {plain.DuplicateEvents} came twice.").AppendLine();
                }
            }

            if (report.Composition is { } composed)
            {
                md.AppendLine("The parts composed in one process (`--only baseline,callbacks,composition`, measured last in each round): the bare Kestrel route, the ledger part's statements and the product's publish with its mark; no token, no bound, no history, no log line, no telemetry:").AppendLine();
                Table(md, ["round", "in flight", "rate/s", "sent", "failed", CpuHeader],
                    composed.ClosedLoop.Select((l, i) => new[] { Num(i + 1), Num(l.Concurrency), Num(l.RatePerSecond), Num(l.Sent), Num(l.Failed), Cpu(l.CpuPerOperation) }).ToList());
                if (composed.DuplicateEvents > 0 || composed.LostEvents > 0)
                {
                    md.AppendLine($"The composed parts' events: {composed.LostEvents} never came after a 200, {composed.DuplicateEvents} came twice.").AppendLine();
                }
            }

            if (callbacks.Overload is { } overload)
            {
                md.AppendLine(Invariant($"Past saturation: twice the maximum rate for {overload.Sent / overload.OfferedRate:F0} s. The receiver works on at most `Callbacks:MaxInFlight` callbacks and answers the rest 503 at once; the load generator sends those again 1, 2 and 4 s later, as the providers do (latency counts the retries):")).AppendLine();
                Table(md, ["rate/s", "sent", "503s sent again", "given up after 3 retries", "p50 ms", "p99 ms", "max ms", "receiver's peak RSS MB"],
                [[Num(overload.OfferedRate), Num(overload.Sent), Num(overload.TurnedAway), Num(overload.GivenUp), Ms(overload.Latency.P50), Ms(overload.Latency.P99), Ms(overload.Latency.Max), Num(overload.PeakRssMB)]]);
            }

            if (callbacks.TurnedAway > 0)
            {
                md.AppendLine(Invariant($"Answers of 503 at the in-flight bound over the whole section, each sent again: {callbacks.TurnedAway}; callbacks turned away at every one of the providers' three retries, which the polling fallback finishes in production: {callbacks.GivenUp}.")).AppendLine();
            }

            md.AppendLine("![callback latency vs rate](latest.svg)").AppendLine();
            if (callbacks.ErrorStatuses.Count > 0 || callbacks.DuplicateEvents > 0 || callbacks.LostEvents > 0)
            {
                md.AppendLine($"Answers other than 200 (0 = no answer): {string.Join(", ", callbacks.ErrorStatuses.Select(e => $"{e.Key}: {e.Value}"))}; duplicate events: {callbacks.DuplicateEvents}; 200s without an event: {callbacks.LostEvents}.").AppendLine();
            }
        }

        if (report.Archiving is { } archiving)
        {
            md.AppendLine("## 2a. Callbacks with archiving (durable results)").AppendLine();
            if (archiving.Problem is { } problem)
            {
                md.AppendLine($"**Not run:** {problem}").AppendLine();
            }
            else
            {
                md.AppendLine(Invariant($"`Archive:Store` = {archiving.Store}, a fresh bucket; the WebhookReceiver and the Submitter as their own processes. Each callback names a result PNG of the run's simulator padded to {archiving.FileBytesMin / 1e6:0.0#}–{archiving.FileBytesMax / 1e6:0.0#} MB (spread evenly). The receiver moves the row to `archiving` and answers; the Submitter's scheduler claims archiving rows every `Polling:Interval` ({archiving.PollingIntervalMs:F0} ms, up to {archiving.BatchSize} a cycle, copied at once), downloads each file (spooled to disk), stores it and publishes `ImageCompleted` with `archived: true`. Callbacks at a constant rate (open loop); latency from when each POST was due to the archived event consumed; the answer with archiving off (full run only): the same callbacks at the same rate on a receiver without `Archive:Store`, after the archiving processes stopped:")).AppendLine();
                Table(md, ["rate/s", "s", "sent", "archived", "p50 ms", "p95 ms", "p99 ms", "max ms", "answer p50 / p99 ms", "answer, archiving off, p50 / p99 ms", "200 → event p50 / p99 ms", "failed", "missing"],
                    archiving.Levels.Select(l => new[]
                    {
                        Num(l.OfferedRate), Num(l.Seconds), Num(l.Sent), Num(l.Archived), Num(l.Latency.P50), Num(l.Latency.P95), Num(l.Latency.P99), Num(l.Latency.Max),
                        $"{Ms(l.Answer.P50)} / {Ms(l.Answer.P99)}", l.AnswerWithoutArchiving is { } off ? $"{Ms(off.P50)} / {Ms(off.P99)}" : "–",
                        $"{Num(l.Archive.P50)} / {Num(l.Archive.P99)}", Num(l.Failed), Num(l.Latency.Missing),
                    }));
                md.AppendLine("Throughput (from the first callback due to the last event), the peak RSS of both processes meanwhile (every 200 ms), and CPU per archived image (the benchmark process serves the simulator's files; the whole machine includes other work on it):").AppendLine();
                Table(md, ["rate/s", "images/s", "MB/s", "Submitter peak RSS MB", "receiver peak RSS MB", "CPU µs per image: Submitter · postgres · rabbitmq · benchmark · whole machine", "receiver · S3 server µs per image", "events per second"],
                    archiving.Levels.Select(l => new[]
                    {
                        Num(l.OfferedRate), Invariant($"{l.ArchivedPerSecond:F1}"), Invariant($"{l.MegabytesPerSecond:F1}"), Num(l.SubmitterPeakRssMB), Num(l.ReceiverPeakRssMB), Cpu(l.CpuPerImage), $"{Num(l.ReceiverCpuPerImage)} · {Num(l.S3ServerCpuPerImage)}", string.Join(" ", l.CompletedPerSecond),
                    }));
                if (archiving.ErrorStatuses.Count > 0 || archiving.DuplicateEvents > 0 || archiving.LostEvents > 0 || archiving.NotArchived > 0)
                {
                    md.AppendLine($"Answers other than 200 (0 = no answer): {string.Join(", ", archiving.ErrorStatuses.Select(e => $"{e.Key}: {e.Value}"))}; duplicate events: {archiving.DuplicateEvents}; 200s without an event: {archiving.LostEvents}; events not archived as sent: {archiving.NotArchived}.").AppendLine();
                }
            }
        }

        if (report.Submission.Count > 0)
        {
            md.AppendLine("## 3. Submission").AppendLine();
            md.AppendLine("`GenerateImage` commands queued, then the Submitter process started with `Submitter:ConcurrentSubmissions`; rate of `ImageSubmitted` consumed (provider accepted) over the middle 80 % of the commands:").AppendLine();
            Table(md, ["create latency", "ConcurrentSubmissions", "commands", "submitted", "submitted/s", "0.9 × concurrency / latency", CpuHeader],
                report.Submission.Select(s => new[] { $"{s.CreateLatencyMs} ms", Num(s.Concurrency), Num(s.Commands), Num(s.Submitted), Num(s.RatePerSecond), s.Target is { } t ? Num(t) : "", Cpu(s.CpuPerOperation) }));
        }

        if (report.Polling.Count > 0)
        {
            md.AppendLine("## 4. Polling cost").AppendLine();
            md.AppendLine("One cycle of the polling fallback against the database: `DueRows.ClaimAsync` (3 statements) then `DueRows.RescheduleAsync` for every claimed row, all at once as the polling fallback (`StatusPoll`) does, which its group commit runs as a few multi-row `UPDATE`s (client-side wall time, median of the repetitions). Server time and buffers: `EXPLAIN (ANALYZE, BUFFERS)` of the claim's statements (rolled back).").AppendLine();
            Table(md, ["in flight", "due", "batch", "claimed", "claim ms", "settle ms", "cycle ms", "claim server ms", "claim buffers"],
                report.Polling.Select(p => new[] { Num(p.InFlight), Num(p.Due), Num(p.BatchSize), Num(p.Claimed), Ms(p.ClaimMs), Ms(p.SettleMs), Ms(p.CycleMs), Ms(p.ServerMs), Num(p.Buffers) }));
            if (report.Polling.FirstOrDefault(p => p.Due == 1_000 && p.InFlight >= 100_000) is { } headline)
            {
                md.AppendLine("Rows and buffers per statement (1,000 due of 100,000, default batch):").AppendLine();
                Table(md, ["statement", "plan", "rows", "shared hit", "shared read", "server ms"],
                    headline.Statements.Select(s => new[] { s.Statement, s.Plan, Num(s.ActualRows), Num(s.SharedHit), Num(s.SharedRead), Ms(s.ExecutionMs) }));
            }

            if (report.ClaimPlan is { } plan)
            {
                md.AppendLine("<details><summary>The SQL EF Core sends, with EXPLAIN (ANALYZE, BUFFERS)</summary>").AppendLine();
                md.AppendLine("```").AppendLine(ShortLines(plan.TrimEnd())).AppendLine("```").AppendLine("</details>").AppendLine();
            }
        }

        if (report.Footprint.Count > 0)
        {
            md.AppendLine("## 5. Footprint").AppendLine();
            md.AppendLine("VmRSS from `/proc/<pid>/status` of each service run as its own process (built service dll, as the process tests run them); under load: the highest sample (every 200 ms).").AppendLine();
            Table(md, ["service", "phase", "RSS MB", "made of (MB, when read)"], report.Footprint.Select(f => new[] { f.Service, f.Phase, Num(f.RssMB), f.Breakdown ?? "" }));
        }

        if (report.MemoryLimit is { } memory)
        {
            MemoryLimitTable(md, memory);
        }

        if (report.Micro.Count > 0)
        {
            md.AppendLine("## 7. Micro-benchmarks (BenchmarkDotNet, in-process, short job)").AppendLine();
            Table(md, ["", "mean", "± (99.9 %)", "allocated"],
                report.Micro.Select(m => new[] { m.Name, Invariant($"{m.MeanNs / 1000:F2} µs"), Invariant($"{m.ErrorNs / 1000:F2} µs"), m.AllocatedBytes is { } b ? $"{b} B" : "" }));
        }

        if (report.Notes.Count > 0)
        {
            md.AppendLine("## Notes").AppendLine();
            foreach (var note in report.Notes)
            {
                md.AppendLine($"- {note}");
            }

            md.AppendLine();
        }

        return md.ToString();
    }

    private static void MemoryLimitTable(StringBuilder md, MemoryLimitResults memory)
    {
        md.AppendLine("## 6. Memory in a limit").AppendLine();
        if (memory.Problem is { } problem)
        {
            md.AppendLine($"**Not run:** {problem}").AppendLine();
            return;
        }

        md.AppendLine(Invariant($"Each service at half its maximum load for {memory.Seconds:F0} s (open loop: the WebhookReceiver callbacks, the Submitter `GenerateImage` commands at 0 ms create latency; {memory.Rates}), a fresh process each time, started inside a memory cgroup of its own ({memory.Cgroup}): once limited to {memory.LimitMiB:F0} MiB (swap included), once without a limit{(memory.ReferenceSeconds is { } reference && reference != memory.Seconds ? $" for {reference:F0} s, the reference rate" : "")}. ")
            + (memory.PrivateRuntime
                ? "Each started from a private copy of the .NET runtime and of its build output, dropped from the page cache first, so that its code is charged to its cgroup as a container's image files are. "
                : "**Each started from the shared .NET runtime, whose cached pages are charged to other cgroups: the cgroup's usage leaves out most of the code.** ")
            + Invariant($"Achieved: events consumed per second, from the first due instant to the last event (or the end of the run, if later); 503s sent again: callbacks the receiver turned away at its in-flight bound (`Callbacks:MaxInFlight`, sized from the memory limit unless set), sent again 1, 2 and 4 s later as the providers do. Memory in MB (10^6 bytes): RSS (VmRSS) and the cgroup's usage (anonymous memory, and the page cache its process brought in), idle after start-up and at their highest (RSS: sampled every 200 ms under load; the cgroup: the kernel's peak over the process's life, start-up included); the cgroup's working set (usage less the inactive page cache, as the kubelet counts it) at its highest; major page faults under load (pages read back from disk: code the kernel took away to stay in the limit):")).AppendLine();
        Table(md, ["service", "limit", "offered/s", "achieved/s", "of unlimited", "sent", "503s sent again", "failed", "missing", "OOM kills", "major faults", "survived", "RSS idle", "RSS peak", "cgroup idle", "cgroup peak", "working set peak"],
            memory.Services().SelectMany(s => new[] { s.Unlimited, s.Limited }.OfType<MemoryLimitRun>().Select(r => new[]
            {
                r.Service.Replace("EventImaging.", "", StringComparison.Ordinal),
                r.Limited ? Invariant($"{memory.LimitMiB:F0} MiB") : "none",
                Num(r.OfferedRate),
                Num(r.AchievedRate),
                r.Limited && s.Unlimited is { AchievedRate: > 0 } u ? Invariant($"{r.AchievedRate / u.AchievedRate:P0}") : "",
                Num(r.Sent),
                Num(r.TurnedAway),
                Num(r.Failed),
                Num(r.Missing),
                r.OomKills?.ToString(CultureInfo.InvariantCulture) ?? "?",
                r.MajorFaults is { } faults ? Num(faults) : "?",
                r.Problem is { } why ? $"**no**: {why}" : r.Survived ? "yes" : "**no**",
                Num(r.IdleRssMB),
                Num(r.PeakRssMB),
                Num(r.IdleCgroupMB ?? double.NaN),
                Num(r.PeakCgroupMB ?? double.NaN),
                Num(r.PeakWorkingSetMB ?? double.NaN),
            })));
    }

    /// <summary>EXPLAIN repeats the claimed ids' literal array on every condition line: lines are cut at 160 characters.</summary>
    private static string ShortLines(string text) =>
        string.Join('\n', text.Split('\n').Select(line => line.Length <= 160 ? line : line[..157] + "…"));

    private static void Chart(CallbackResults callbacks, string directory)
    {
        var plot = new Plot();
        var rates = callbacks.OpenLoop.Select(p => p.OfferedRate).ToArray();
        foreach (var (name, value) in new (string, Func<LatencyPoint, double>)[] { ("p50", p => p.Latency.P50), ("p95", p => p.Latency.P95), ("p99", p => p.Latency.P99) })
        {
            var series = plot.Add.Scatter(rates, callbacks.OpenLoop.Select(value).ToArray());
            series.LegendText = name;
            series.LineWidth = 2;
            series.MarkerSize = 7;
        }

        var target = plot.Add.HorizontalLine(Targets.P99AtHalfMaxMs);
        target.LinePattern = LinePattern.Dashed;
        target.Color = Colors.Gray;
        target.LegendText = Invariant($"p99 target at 50 % of max ({Targets.P99AtHalfMaxMs} ms)");
        var max = plot.Add.VerticalLine(callbacks.MaxRate);
        max.LinePattern = LinePattern.Dotted;
        max.Color = Colors.Gray;
        max.LegendText = Invariant($"max rate ({callbacks.MaxRate:F0}/s)");

        plot.Title("Callback ingestion: POST → ImageCompleted consumed");
        plot.XLabel("callbacks per second (open loop)");
        plot.YLabel("latency (ms)");
        plot.Axes.SetLimitsX(0, callbacks.MaxRate * 1.05);
        // Overloaded points (seconds of queueing) would flatten the rest: the axis stops at a few times the p99
        // up to half the maximum rate, and the table has every figure.
        var top = Math.Max(Targets.P99AtHalfMaxMs * 3, 2 * callbacks.OpenLoop.Where(p => p.FractionOfMax <= 0.51).Select(p => p.Latency.P99).DefaultIfEmpty(0).Max());
        if (callbacks.OpenLoop.Any(p => p.Latency.P99 > top))
        {
            plot.Title("Callback ingestion: POST → ImageCompleted consumed (points above the top are overloaded: see the table)", size: 13);
        }

        plot.Axes.SetLimitsY(0, top);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SaveSvg(Path.Combine(directory, "latest.svg"), 900, 520);
        plot.SavePng(Path.Combine(directory, "latest.png"), 900, 520);
    }

    private static void Table(StringBuilder md, string[] header, IEnumerable<string[]> rows)
    {
        var cells = rows.ToList();
        // Numbers right-aligned, text left-aligned.
        var numeric = header.Select((_, i) => cells.Count > 0 && cells.All(r => NumericCell().IsMatch(r[i]))).ToArray();
        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Concat(numeric.Select(n => n ? "---:|" : "---|")));
        foreach (var row in cells)
        {
            md.AppendLine("| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
        }

        md.AppendLine();
    }

    [GeneratedRegex(@"^[–\d,. %]*(ms|µs|MB|B|/s)?$")]
    private static partial Regex NumericCell();

    private const string CpuHeader = "CPU µs per operation: service · postgres · rabbitmq · benchmark · whole machine";

    private static string Cpu(CpuUse? cpu) => cpu is null
        ? ""
        : string.Join(" · ", new[] { cpu.Service, cpu.Postgres, cpu.RabbitMq, cpu.Benchmark, cpu.Machine }.Select(Num));

    private static string Num(double value) => double.IsNaN(value) ? "–" : value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Ms(double value) => double.IsNaN(value) ? "–" : value.ToString("F1", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
