using System.Globalization;

namespace EventImaging.Benchmarks.Report;

/// <summary>The goals the figures are held to, as ratios within the same run wherever a baseline exists.</summary>
internal static class Targets
{
    public const double IngestionShareOfBaseline = 0.5;
    public const double P99AtHalfMaxMs = 25;
    public const double SubmissionShareOfIdeal = 0.9;
    public const double PollCycleMs = 100;
    public const double SettleThousandMs = 30;
    public const double CycleTenThousandMs = 500;
    public const double RssMB = 150;

    /// <summary>The machine CPU per callback of its parts measured alone (at their best level), and the rate that allows.</summary>
    private static (double Ledger, double Publish, double Http, double MachineMicroseconds, double Rate)? Bound(BaselineResults baseline, int cores)
    {
        static double Best(List<RateLevel> levels) =>
            levels.Select(l => l.CpuPerOperation?.Machine ?? double.NaN).Where(c => c > 0).DefaultIfEmpty(double.NaN).Min();

        var (ledger, publish, http) = (Best(baseline.Ledger), Best(baseline.MassTransit), Best(baseline.Http));
        var total = ledger + publish + http;
        return double.IsNaN(total) ? null : (ledger, publish, http, total, cores * 1e6 / total);
    }

    public static void Evaluate(BenchReport report)
    {
        var targets = report.Targets;
        if (report.Baseline is { } floor && report.Machine is { } machine && Bound(floor, machine.Cores) is { } bound)
        {
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"Upper bound for callback ingestion on this machine, whatever the receiver does: its parts measured alone cost {bound.MachineMicroseconds:F0} µs of machine CPU per callback "
                + $"(ledger statements {bound.Ledger:F0} + publish/consume {bound.Publish:F0} + HTTP {bound.Http:F0}), so {machine.Cores} cores allow at most {bound.Rate:F0} callbacks/s "
                + $"= {bound.Rate / floor.MassTransitMax:P0} of the raw MassTransit rate."));
        }

        if (report.Callbacks is { PlainReceiver: { } plain } received)
        {
            var share = report.Baseline is { } b ? string.Create(CultureInfo.InvariantCulture, $" ({plain.Max.RatePerSecond / b.MassTransitMax:P0} of the raw MassTransit rate)") : "";
            var loaded = report.Footprint.Where(f => f.Service == Sections.PlainReceiverServer.Name && f.Phase.StartsWith("under", StringComparison.Ordinal))
                .Select(f => f.RssMB).DefaultIfEmpty(double.NaN).Max();
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"The plain receiver (the same libraries, a row read and a publish per callback, nothing else) reached {plain.Max.RatePerSecond:F0}/s{share} against the receiver's {received.MaxRate:F0}/s; "
                + $"p99 {plain.AtHalfOfItsMax.Latency.P99:F1} ms at half its maximum; {loaded:F0} MB resident at the receiver's half-maximum rate."));
        }

        if (report.Callbacks?.ErrorStatuses.GetValueOrDefault(429) is > 0 and var limited)
        {
            report.Notes.Add($"{limited} callbacks were answered 429: the benchmark turns the per-source limit off (Callbacks:RateLimitPerSource=0); look for another limit in the way.");
        }

        if (report.Callbacks is { } callbacks && report.Baseline is { } baseline)
        {
            var share = callbacks.MaxRate / baseline.MassTransitMax;
            targets.Add(new TargetResult(
                "callback ingestion max rate vs raw MassTransit publish+consume",
                $"{callbacks.MaxRate:F0}/s = {share:P0} of {baseline.MassTransitMax:F0}/s",
                $"≥ {IngestionShareOfBaseline:P0}",
                share >= IngestionShareOfBaseline));
        }

        if (report.Callbacks?.OpenLoop.FirstOrDefault(p => Math.Abs(p.FractionOfMax - 0.5) < 0.01) is { } half)
        {
            targets.Add(new TargetResult(
                "callback latency p99 at 50 % of max rate",
                $"{half.Latency.P99:F1} ms at {half.OfferedRate:F0}/s",
                $"≤ {P99AtHalfMaxMs} ms",
                half.Latency.P99 <= P99AtHalfMaxMs && half.Latency.Missing == 0 && half.Failed == 0));
        }

        foreach (var submission in report.Submission.Where(s => s.Target is not null))
        {
            targets.Add(new TargetResult(
                $"submissions/s, create latency {submission.CreateLatencyMs} ms, ConcurrentSubmissions {submission.Concurrency}",
                $"{submission.RatePerSecond:F0}/s",
                $"≥ {submission.Target:F0}/s (0.9 × {submission.Concurrency} / {submission.CreateLatencyMs / 1000.0:0.0#} s)",
                submission.RatePerSecond >= submission.Target && submission.Submitted == submission.Commands));
        }

        foreach (var cycle in report.Polling.Where(p => p.InFlight >= 100_000 && p.Due == 1_000))
        {
            // At the configured batch a cycle is the claim plus one reschedule per claimed row; claiming every due row
            // at once is the ClaimDueAsync path alone (its reschedules are held to their own goal below).
            var whole = cycle.BatchSize < cycle.Due;
            targets.Add(new TargetResult(
                whole
                    ? $"poll cycle DB time (claim + {cycle.Claimed} reschedules), 1,000 due of {cycle.InFlight:N0}, batch {cycle.BatchSize}"
                    : $"ClaimDueAsync of all 1,000 due of {cycle.InFlight:N0} in one cycle",
                whole ? $"{cycle.CycleMs:F1} ms" : $"{cycle.ClaimMs:F1} ms ({cycle.ServerMs:F1} ms in the server)",
                $"≤ {PollCycleMs} ms",
                (whole ? cycle.CycleMs : cycle.ClaimMs) <= PollCycleMs));
        }

        if (report.Polling.FirstOrDefault(p => p.InFlight >= 100_000 && p.Due == 1_000 && p.BatchSize == 1_000) is { } settle)
        {
            targets.Add(new TargetResult(
                $"settling {settle.Claimed:N0} claimed rows (their reschedules, all at once), 1,000 due of {settle.InFlight:N0}",
                $"{settle.SettleMs:F1} ms",
                $"≤ {SettleThousandMs} ms",
                settle.SettleMs <= SettleThousandMs));
        }

        if (report.Polling.FirstOrDefault(p => p.InFlight >= 100_000 && p.Due == 10_000 && p.BatchSize == 10_000) is { } large)
        {
            targets.Add(new TargetResult(
                $"poll cycle DB time (claim + {large.Claimed:N0} reschedules), 10,000 due of {large.InFlight:N0}, batch 10,000",
                $"{large.CycleMs:F1} ms (claim {large.ClaimMs:F1} + settle {large.SettleMs:F1})",
                $"≤ {CycleTenThousandMs} ms",
                large.CycleMs <= CycleTenThousandMs));
        }

        foreach (var service in report.Footprint.Where(f => f.Service.StartsWith("EventImaging.", StringComparison.Ordinal)).GroupBy(f => f.Service))
        {
            var loaded = service.Where(f => f.Phase.StartsWith("under", StringComparison.Ordinal)).Select(f => f.RssMB).DefaultIfEmpty(double.NaN).Max();
            var peak = service.Select(f => f.RssMB).DefaultIfEmpty(double.NaN).Max();
            targets.Add(new TargetResult(
                $"{service.Key} resident memory under load",
                string.Create(CultureInfo.InvariantCulture, $"{loaded:F0} MB (peak {peak:F0} MB)"),
                $"≤ {RssMB} MB",
                loaded <= RssMB));
        }
    }

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
