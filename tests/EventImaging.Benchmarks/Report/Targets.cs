using System.Globalization;
using EventImaging.Core.Submission;

namespace EventImaging.Benchmarks.Report;

/// <summary>
/// The targets of the performance issue, each decided from this run's figures alone (ratios within the same run
/// wherever a baseline exists). Every run lists all of them: one a run did not measure (its section did not run) is
/// listed with no figure and not met, so the list always has the same entries in the same order.
/// </summary>
internal static class Targets
{
    public const double SubmissionCpuMicroseconds = 1_500;
    public const double PollSettle1000Ms = 30;
    public const double PollCycle10000Ms = 500;
    public const double CallbackShareOfParts = 0.75;
    public const double CallbackOverPlain = 1.2;
    public const double P99AtHalfMaxMs = 25;
    public const double MemoryLimitShare = 0.9;
    public const int MemoryLimitMiB = 160;

    /// <summary>The polling rows the targets name: 100,000 in flight, every due row claimed in one batch.</summary>
    public const int PollInFlight = 100_000;

    private const string AtMost = "at most";
    private const string AtLeast = "at least";

    /// <summary>The Submitter's default <c>Submitter:ConcurrentSubmissions</c>: the submission target is held at it.</summary>
    public static int DefaultConcurrency { get; } = new SubmitterOptions().ConcurrentSubmissions;

    /// <summary>The seven targets, in the issue's order.</summary>
    public static List<TargetResult> Of(BenchReport report) =>
    [
        SubmissionCpu(report),
        PollSettle(report),
        PollCycle(report),
        CallbackVersusParts(report),
        CallbackVersusPlain(report),
        CallbackTail(report),
        MemoryLimit(report),
    ];

    private static TargetResult SubmissionCpu(BenchReport report)
    {
        const string Id = "submission_cpu_us";
        var label = $"whole-machine CPU per submission, 0 ms create latency, ConcurrentSubmissions {DefaultConcurrency}";
        return report.Submission.FirstOrDefault(s => s.CreateLatencyMs == 0 && s.Concurrency == DefaultConcurrency) is { CpuPerOperation: { } cpu } submission
            ? Decided(Id, cpu.Machine, SubmissionCpuMicroseconds, "µs", AtMost, label,
                Invariant($"{cpu.Machine:N0} µs of the machine's CPU per submission ({submission.Submitted:N0} submitted at {submission.RatePerSecond:N0}/s): the Submitter {cpu.Service:N0}, PostgreSQL {cpu.Postgres:N0}, RabbitMQ {cpu.RabbitMq:N0}, the benchmark (publisher, subscriber, simulator) {cpu.Benchmark:N0}"))
            : NotMeasured(Id, SubmissionCpuMicroseconds, "µs", AtMost, label, "the submission section did not run");
    }

    private static TargetResult PollSettle(BenchReport report)
    {
        const string Id = "poll_settle_1000_ms";
        const string Label = "settling 1,000 claimed rows (1,000 due of 100,000 in flight, batch 1,000)";
        return Row(report, 1_000) is { } row
            ? Decided(Id, row.SettleMs, PollSettle1000Ms, "ms", AtMost, Label,
                Invariant($"{row.Claimed:N0} reschedules at once after a claim of {row.ClaimMs:N1} ms (median of the repetitions)"))
            : NotMeasured(Id, PollSettle1000Ms, "ms", AtMost, Label, "the polling section did not run");
    }

    private static TargetResult PollCycle(BenchReport report)
    {
        const string Id = "poll_cycle_10000_ms";
        const string Label = "one poll cycle of 10,000 due of 100,000 in flight (batch 10,000: claim + settle)";
        return Row(report, 10_000) is { } row
            ? Decided(Id, row.CycleMs, PollCycle10000Ms, "ms", AtMost, Label,
                Invariant($"claim {row.ClaimMs:N1} ms ({row.ServerMs:N1} ms in the server) + settle {row.SettleMs:N1} ms, {row.Claimed:N0} claimed"))
            : NotMeasured(Id, PollCycle10000Ms, "ms", AtMost, Label, "the polling section did not run");
    }

    /// <summary>The polling row with every one of <paramref name="due"/> rows claimed at once among 100,000 in flight.</summary>
    private static PollingResult? Row(BenchReport report, int due) =>
        report.Polling.FirstOrDefault(p => p.InFlight == PollInFlight && p.Due == due && p.BatchSize == due);

    private static TargetResult CallbackVersusParts(BenchReport report)
    {
        const string Id = "callback_vs_parts";
        const string Label = "callback max rate / the rate its parts measured alone allow (median of the rounds)";
        if (report.Callbacks is { Rounds: null } single && report.Machine is { } cores && Bound(report) is { } once)
        {
            // A report from before the rounds (--render): its one maximum against its parts' best levels.
            return Decided(Id, single.MaxRate / once.Rate, CallbackShareOfParts, "ratio", AtLeast, Label,
                Invariant($"one measurement (a report from before the rounds): {single.MaxRate:N0}/s of {once.Rate:N0}/s (parts {once.Parts.MachineMicroseconds:N0} µs) on {cores.Cores} cores"));
        }

        if (report.Callbacks is not { Rounds: { Count: > 0 } rounds } || rounds.Any(r => r.Parts is null) || report.Machine is not { } machine)
        {
            return NotMeasured(Id, CallbackShareOfParts, "ratio", AtLeast, Label, "needs the baseline and callback sections");
        }

        var ratios = rounds.Select(r => r.Receiver.RatePerSecond / r.Parts!.Bound(machine.Cores)).ToList();
        return Decided(Id, Medians.Of(ratios), CallbackShareOfParts, "ratio", AtLeast, Label,
            $"rounds {Ratios(ratios)}: "
            + string.Join("; ", rounds.Select(r => Invariant($"{r.Receiver.RatePerSecond:N0}/s of {r.Parts!.Bound(machine.Cores):N0}/s (parts {r.Parts.MachineMicroseconds:N0} µs: ledger {Machine(r.Parts.Ledger):N0} + publish/consume {Machine(r.Parts.Publish):N0} + HTTP {Machine(r.Parts.Http):N0})")))
            + Invariant($" on {machine.Cores} cores"));
    }

    private static TargetResult CallbackVersusPlain(BenchReport report)
    {
        const string Id = "callback_vs_plain";
        const string Label = "callback max rate / the plain receiver's (median of the rounds)";
        if (report.Callbacks is { Rounds: null, PlainReceiver: { } plain } single)
        {
            // A report from before the rounds (--render): its one maximum against the plain receiver's.
            return Decided(Id, single.MaxRate / plain.Max.RatePerSecond, CallbackOverPlain, "ratio", AtLeast, Label,
                Invariant($"one measurement (a report from before the rounds): {single.MaxRate:N0}/s against {plain.Max.RatePerSecond:N0}/s"));
        }

        if (report.Callbacks is not { Rounds: { Count: > 0 } rounds })
        {
            return NotMeasured(Id, CallbackOverPlain, "ratio", AtLeast, Label, "the callback section did not run");
        }

        var ratios = rounds.Select(r => r.Receiver.RatePerSecond / r.Plain.RatePerSecond).ToList();
        return Decided(Id, Medians.Of(ratios), CallbackOverPlain, "ratio", AtLeast, Label,
            $"rounds {Ratios(ratios)}: "
            + string.Join("; ", rounds.Select(r => Invariant($"{r.Receiver.RatePerSecond:N0}/s at {r.Receiver.Concurrency} in flight against {r.Plain.RatePerSecond:N0}/s at {r.Plain.Concurrency}"))));
    }

    private static double Machine(RateLevel level) => level.CpuPerOperation?.Machine ?? double.NaN;

    private static string Ratios(IEnumerable<double> ratios) => string.Join(", ", ratios.Select(r => Invariant($"{r:F2}")));

    /// <summary>
    /// Met at ≤ 25 ms, or at no worse than the plain receiver's p99 at the same rate in the same run (the libraries'
    /// own tail on this machine); never with a callback failed or missing at that rate.
    /// </summary>
    private static TargetResult CallbackTail(BenchReport report)
    {
        const string Id = "callback_p99_half_ms";
        const string Label = "callback p99 at half the maximum rate";
        if (report.Callbacks?.OpenLoop.FirstOrDefault(p => Math.Abs(p.FractionOfMax - 0.5) < 0.01) is not { } half)
        {
            return NotMeasured(Id, P99AtHalfMaxMs, "ms", AtMost, Label, "the callback section did not run");
        }

        var p99 = half.Latency.P99;
        var plain = report.Callbacks.PlainReceiver?.AtReceiversHalf.Latency.P99;
        var whole = half.Failed == 0 && half.Latency.Missing == 0;
        var how = p99 <= P99AtHalfMaxMs
            ? Invariant($"within {P99AtHalfMaxMs} ms")
            : p99 <= plain
                ? Invariant($"over {P99AtHalfMaxMs} ms, but within the plain receiver's p99 of {plain:N1} ms at the same rate")
                : Invariant($"over {P99AtHalfMaxMs} ms and over the plain receiver's p99 ({(plain is { } p ? Invariant($"{p:N1} ms") : "not measured")}) at the same rate");
        return new TargetResult(Id, p99, P99AtHalfMaxMs, "ms", AtMost, whole && (p99 <= P99AtHalfMaxMs || p99 <= plain), Label,
            Invariant($"{p99:N1} ms at {half.OfferedRate:N0}/s: {how}") + (whole ? "" : $"; {half.Failed} failed and {half.Latency.Missing} missing at that rate"));
    }

    /// <summary>
    /// The lowest share of its unlimited throughput a service kept inside the limit; met when every service ran both
    /// ways, kept at least 90 %, survived and had no OOM kill.
    /// </summary>
    private static TargetResult MemoryLimit(BenchReport report)
    {
        const string Id = "memory_limit_160mib";
        var label = Invariant($"throughput at half the maximum load inside {MemoryLimitMiB} MiB / without a limit, lowest service");
        if (report.MemoryLimit is not { } memory)
        {
            return NotMeasured(Id, MemoryLimitShare, "ratio", AtLeast, label, "the memory section did not run");
        }

        if (memory.Problem is { } problem)
        {
            return NotMeasured(Id, MemoryLimitShare, "ratio", AtLeast, label, problem);
        }

        var services = memory.Services().ToList();
        var shares = services.Select(s => (s.Service, Share: s.Limited is { } l && s.Unlimited is { AchievedRate: > 0 } u ? l.AchievedRate / u.AchievedRate : double.NaN)).ToList();
        var failures = services.SelectMany(s => Failures(s.Service, s.Limited, s.Unlimited)).ToList();
        if (shares.Count == 0)
        {
            return NotMeasured(Id, MemoryLimitShare, "ratio", AtLeast, label, "no service ran");
        }

        var lowest = shares.Any(s => double.IsNaN(s.Share)) ? double.NaN : shares.Min(s => s.Share);
        var met = failures.Count == 0 && lowest >= MemoryLimitShare;
        return new TargetResult(Id, double.IsNaN(lowest) ? null : lowest, MemoryLimitShare, "ratio", AtLeast, met, label,
            string.Join("; ", shares.Select(s => Invariant($"{Short(s.Service)} {s.Share:P0}")).Concat(failures)));
    }

    private static IEnumerable<string> Failures(string service, MemoryLimitRun? limited, MemoryLimitRun? unlimited)
    {
        foreach (var (run, name) in new[] { (limited, "in the limit"), (unlimited, "without a limit") })
        {
            if (run is null)
            {
                yield return $"{Short(service)} did not run {name}";
            }
            else if (run.Problem is { } problem)
            {
                yield return $"{Short(service)} {name}: {problem}";
            }
            else
            {
                if (run.OomKills is > 0)
                {
                    yield return $"{Short(service)} {name}: {run.OomKills} OOM kill(s)";
                }

                if (!run.Survived)
                {
                    yield return $"{Short(service)} {name}: the process ended during the run";
                }
            }
        }
    }

    private static string Short(string service) => service.Replace("EventImaging.", "", StringComparison.Ordinal);

    private static TargetResult Decided(string id, double measured, double target, string unit, string direction, string label, string detail) =>
        new(id, double.IsNaN(measured) ? null : measured, target, unit, direction,
            direction == AtMost ? measured <= target : measured >= target, label, detail);

    private static TargetResult NotMeasured(string id, double target, string unit, string direction, string label, string why) =>
        new(id, null, target, unit, direction, false, label, $"not measured: {why}");

    /// <summary>
    /// The parts' bound: the round whose parts allowed the median rate, or the baseline's own measurement when the callback
    /// section did not run (each part at its cheapest level); and the callbacks a second their machine CPU allows.
    /// </summary>
    public static (PartsRound Parts, double Rate)? Bound(BenchReport report)
    {
        if (report.Machine is not { } machine)
        {
            return null;
        }

        static RateLevel Cheapest(List<RateLevel> levels) => levels.MinBy(l => l.CpuPerOperation?.Machine ?? double.MaxValue)!;

        var measured = report.Callbacks?.Rounds?.Select(r => r.Parts).OfType<PartsRound>().ToList() ?? [];
        if (measured.Count == 0 && report.Baseline is { Ledger.Count: > 0, MassTransit.Count: > 0, Http.Count: > 0 } alone)
        {
            // Measured once (--only baseline), or a report from before the rounds: each part at its cheapest level.
            measured.Add(new PartsRound(Cheapest(alone.Ledger), Cheapest(alone.MassTransit), Cheapest(alone.Http)));
        }

        var valid = measured.Where(p => !double.IsNaN(p.MachineMicroseconds)).ToList();
        if (valid.Count == 0)
        {
            return null;
        }

        var median = Medians.Of(valid, p => p.Bound(machine.Cores));
        return (median, median.Bound(machine.Cores));
    }

    /// <summary>What the figures say beside the targets: the parts' bound, the plain receiver, a limit in the way.</summary>
    public static IEnumerable<string> Notes(BenchReport report)
    {
        if (report.Baseline is { } floor && report.Machine is { } machine && Bound(report) is { } bound)
        {
            yield return string.Create(CultureInfo.InvariantCulture,
                $"Upper bound for callback ingestion on this machine, whatever the receiver does (the median round): its parts measured alone cost {bound.Parts.MachineMicroseconds:F0} µs of machine CPU per callback "
                + $"(ledger statements {Machine(bound.Parts.Ledger):F0} + publish/consume {Machine(bound.Parts.Publish):F0} + HTTP {Machine(bound.Parts.Http):F0}), so {machine.Cores} cores allow at most {bound.Rate:F0} callbacks/s "
                + $"= {bound.Rate / floor.MassTransitMax:P0} of the raw MassTransit rate.");
        }

        if (report.Callbacks is { PlainReceiver: { } plain } received)
        {
            var share = report.Baseline is { } b ? Invariant($" ({plain.Max.RatePerSecond / b.MassTransitMax:P0} of the raw MassTransit rate)") : "";
            var loaded = report.Footprint.Where(f => f.Service == Sections.PlainReceiverServer.Name && f.Phase.StartsWith("under", StringComparison.Ordinal))
                .Select(f => f.RssMB).DefaultIfEmpty(double.NaN).Max();
            yield return string.Create(CultureInfo.InvariantCulture,
                $"The plain receiver (the same libraries, a row read and a publish per callback, nothing else) reached {plain.Max.RatePerSecond:F0}/s{share} against the receiver's {received.MaxRate:F0}/s; "
                + $"p99 {plain.AtHalfOfItsMax.Latency.P99:F1} ms at half its maximum; {loaded:F0} MB resident at the receiver's half-maximum rate.");
        }

        if (report.Callbacks?.Rounds is { } rounds && rounds.All(r => r.Composed is not null) && report.Machine is { } cores)
        {
            var ofBound = rounds.All(r => r.Parts is not null)
                ? $"{Ratios(rounds.Select(r => r.Composed!.RatePerSecond / r.Parts!.Bound(cores.Cores)))} of its parts' bound, "
                : "";
            yield return $"The parts composed in one process, nothing around them, reached {ofBound}the receiver {Ratios(rounds.Select(r => r.Receiver.RatePerSecond / r.Composed!.RatePerSecond))} of the composed parts (round by round).";
        }

        if (report.Callbacks?.ErrorStatuses.GetValueOrDefault(429) is > 0 and var limited)
        {
            yield return $"{limited} callbacks were answered 429: the benchmark turns the per-source limit off (Callbacks:RateLimitPerSource=0); look for another limit in the way.";
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// What the run saw go wrong, apart from speed: a callback not answered 200, an event that never came or came twice,
    /// an event that should carry archived copies and does not, a command left unsubmitted, the archiving section unable to run. Any of these is a fault, not a figure; the run exits non-zero with them.
    /// </summary>
    public static List<string> Faults(BenchReport report)
    {
        var faults = new List<string>();
        if (report.Callbacks is { } callbacks)
        {
            // A callback turned away at every one of the providers' retries is given up, not failed: past saturation that
            // is the receiver's design, and the polling fallback finishes the request.
            var failed = callbacks.ClosedLoop.Sum(l => l.Failed) + callbacks.OpenLoop.Sum(p => p.Failed) + (callbacks.Overload?.Failed ?? 0);
            if (failed > 0)
            {
                faults.Add($"{failed} callbacks were not answered 200 (by status, 0 = no answer: {string.Join(", ", callbacks.ErrorStatuses.Select(e => $"{e.Key}: {e.Value}"))}).");
            }

            if (callbacks.LostEvents > 0)
            {
                faults.Add($"{callbacks.LostEvents} callbacks answered 200 had no ImageCompleted within the drain timeout.");
            }

            if (callbacks.DuplicateEvents > 0)
            {
                faults.Add($"{callbacks.DuplicateEvents} ImageCompleted events arrived twice for the same request.");
            }
        }

        if (report.Archiving is { } archiving)
        {
            if (archiving.Problem is { } problem)
            {
                faults.Add(problem);
            }

            if (archiving.Levels.Sum(l => l.Failed) is > 0 and var failed)
            {
                faults.Add($"{failed} callbacks with archiving on were not answered 200 (by status, 0 = no answer: {string.Join(", ", archiving.ErrorStatuses.Select(e => $"{e.Key}: {e.Value}"))}).");
            }

            if (archiving.LostEvents > 0)
            {
                faults.Add($"{archiving.LostEvents} callbacks with archiving on, answered 200, had no ImageCompleted within the drain timeout.");
            }

            if (archiving.DuplicateEvents > 0)
            {
                faults.Add($"{archiving.DuplicateEvents} ImageCompleted events with archiving on arrived twice for the same request.");
            }

            if (archiving.NotArchived > 0)
            {
                faults.Add($"{archiving.NotArchived} ImageCompleted events with archiving on did not carry archived: true and one image of the size served.");
            }
        }

        foreach (var submission in report.Submission.Where(s => s.Submitted != s.Commands))
        {
            faults.Add($"{submission.Commands - submission.Submitted} of {submission.Commands} commands were not submitted (create latency {submission.CreateLatencyMs} ms, ConcurrentSubmissions {submission.Concurrency}).");
        }

        return faults;
    }
}
