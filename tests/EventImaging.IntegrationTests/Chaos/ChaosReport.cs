using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EventImaging.Core.Ledger;
using EventImaging.IntegrationTests.Pipeline;
using EventImaging.ProviderSimulator;

namespace EventImaging.IntegrationTests.Chaos;

/// <summary>A create the provider received twice for one request, and why the second was sent.</summary>
/// <param name="Detail">For a cause the report cannot name: each create and the request's ledger history.</param>
public sealed record DoubleCreate(Guid RequestId, int Sent, int TasksMade, string Cause, string? Detail);

/// <summary>What a chaos run found, from the checker's events, the ledger rows and the simulator's own records.</summary>
public sealed record ChaosReport(
    int Requests,
    IReadOnlyList<Guid> Lost,
    IReadOnlyList<Guid> Conflicting,
    int Repeats,
    IReadOnlyList<string> FalseFailures,
    int FailedAfterAmbiguousCreatesOnly,
    int Completed,
    int Failed,
    IReadOnlyDictionary<string, int> FailureCodes,
    IReadOnlyList<DoubleCreate> DoubleCreates,
    IReadOnlyList<FaultRecord> Faults,
    bool Settled,
    TimeSpan SettledAfterLastFault,
    TimeSpan Duration,
    double P50Seconds,
    double P99Seconds)
{
    public static async Task<ChaosReport> BuildAsync(
        PipelineEnvironment env,
        TerminalEventChecker checker,
        Guid[] ids,
        ConcurrentDictionary<Guid, DateTimeOffset> published,
        DateTimeOffset startedAt,
        IReadOnlyList<FaultRecord> faults,
        bool settled,
        TimeSpan settledAfter,
        TimeSpan duration)
    {
        var creates = env.Simulator.GetCreateRequests();
        var lost = new List<Guid>();
        var conflicting = new List<Guid>();
        var falseFailures = new List<string>();
        var doubles = new List<DoubleCreate>();
        var codes = new Dictionary<string, int>();
        var latencies = new List<double>();
        int repeats = 0, completed = 0, failed = 0, unknownToTheEnd = 0;

        bool SubmitterKilledBetween(DateTimeOffset from, DateTimeOffset to) =>
            faults.Any(f => f.Name.Contains("submitter", StringComparison.Ordinal) && startedAt + f.At + f.Took >= from && startedAt + f.At <= to);

        // A create answered with a task whose answer a killed Submitter held: a Submitter kill within the submit lease
        // after the answer (the time that Submitter had to record it). The only fault that may lose an answer.
        bool LostToAKill(ReceivedCreateRequest create) =>
            create.ResponseStatus == 200 && SubmitterKilledBetween(create.ReceivedAt, create.ReceivedAt + ChaosTests.SubmitLease);

        foreach (var id in ids)
        {
            var marker = id.ToString("N");
            var sent = creates.Where(c => c.RawBody.Contains(marker, StringComparison.Ordinal)).ToList();
            var made = sent.Count(c => c.TaskId is not null);
            if (sent.Count > 1)
            {
                var earlier = sent.OrderBy(c => c.ReceivedAt).SkipLast(1).ToList();
                var cause = CauseOf(earlier, env.Simulator);
                if (cause == AnsweredCause && !earlier.Where(c => c.ResponseStatus == 200).All(LostToAKill))
                {
                    cause = AnsweredUnexplainedCause;
                }

                var detail = cause is AnsweredUnexplainedCause or OtherCause ? $"creates: {Describe(sent, env.Simulator)}. Ledger history: {await HistoryOfAsync(env, id)}" : null;
                doubles.Add(new DoubleCreate(id, sent.Count, made, cause, detail));
            }

            var events = checker.For(id);
            if (events.Count == 0)
            {
                lost.Add(id);
                continue;
            }

            if (events.Select(e => (e.Type, e.MessageId)).Distinct().Count() > 1)
            {
                conflicting.Add(id);
            }

            repeats += events.Count - 1;
            var first = events.MinBy(e => e.ReceivedAt)!;
            if (published.TryGetValue(id, out var at))
            {
                latencies.Add((first.ReceivedAt - at).TotalSeconds);
            }

            if (first.Type == "ImageCompleted")
            {
                completed++;
                continue;
            }

            failed++;
            codes[first.Code ?? "?"] = codes.GetValueOrDefault(first.Code ?? "?") + 1;
            // Every task the simulator makes completes, so a failure is false when the provider made the image, or
            // when no create ever reached it; except when two creates were ambiguous (answered 504 after making the task,
            // or never answered), none was answered with a task, and no callback came: then nobody could know, and the
            // policy is to stop after two. Creates refused before anything was made (429, 500, 503) do not count. A
            // Submitter killed while the request waited to be sent counts as one: an attempt its crash cut short, which
            // may not have reached the provider (its records then hold one fewer), or may have been answered with a task
            // the dead process could not record (then one create answered 200 is that attempt). Nothing else may cut an
            // attempt short: an outage of the broker or the ledger does not.
            var crashedWhileSending = published.TryGetValue(id, out var sentAt) && SubmitterKilledBetween(sentAt, first.ReceivedAt);
            var cutShort = crashedWhileSending ? 1 : 0;
            var ambiguous = sent.Count(c => c.ResponseStatus is 504 or ReceivedCreateRequest.NeverAnswered) + cutShort;
            var answered = sent.Where(c => c.ResponseStatus == 200).ToList();
            var endedAmbiguous = ambiguous >= 2
                && answered.All(LostToAKill) && answered.Count <= cutShort
                && sent.Where(c => c.TaskId is not null).All(c => env.Simulator.GetCallbackSuccessCount(c.TaskId!) == 0);
            if (endedAmbiguous)
            {
                unknownToTheEnd++;
            }
            else if (made > 0 || sent.Count == 0)
            {
                falseFailures.Add($"{id} failed with {first.Code} (\"{first.Message}\") at {first.ReceivedAt:HH:mm:ss.fff} though the provider {(sent.Count == 0 ? "received no create" : $"made {made} task(s) of {sent.Count} create(s) answered {string.Join(", ", sent.Select(c => c.ResponseStatus))}")}"
                    + $"{(crashedWhileSending ? " (a Submitter was killed meanwhile)" : "")}. Creates: {Describe(sent, env.Simulator)}. Ledger history: {await HistoryOfAsync(env, id)}");
            }
        }

        // The ledger agrees with what subscribers saw.
        foreach (var id in ids.Except(lost))
        {
            var row = await env.RowAsync(id);
            var seen = checker.For(id)[0].Type;
            if (row is null || !row.State.IsTerminal() || (row.State == RequestState.Completed) != (seen == "ImageCompleted"))
            {
                conflicting.Add(id);
            }
        }

        latencies.Sort();
        return new ChaosReport(
            ids.Length, lost, conflicting, repeats, falseFailures, unknownToTheEnd, completed, failed, codes, doubles, faults, settled, settledAfter, duration,
            Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    /// <summary>Each create as the provider saw it: when, its answer, its task and that task's callbacks.</summary>
    private static string Describe(IReadOnlyList<ReceivedCreateRequest> sent, SimulatorState simulator) =>
        string.Join("; ", sent.OrderBy(c => c.ReceivedAt).Select(c =>
            $"{c.ReceivedAt:HH:mm:ss.fff} {(c.ResponseStatus == ReceivedCreateRequest.NeverAnswered ? "never answered" : c.ResponseStatus.ToString(CultureInfo.InvariantCulture))}"
            + (c.TaskId is { } task ? $" task {task} (callbacks {simulator.GetCallbackAttemptCount(task)} sent, {simulator.GetCallbackSuccessCount(task)} delivered)" : "")));

    /// <summary>The request's history as the ledger holds it: what the services saw, to set beside what the provider saw.</summary>
    private static async Task<string> HistoryOfAsync(PipelineEnvironment env, Guid id) =>
        string.Join("; ", (await env.HistoryAsync(id)).Select(h => $"{h.At:HH:mm:ss.fff} {h.Kind}: {h.Detail}"));

    /// <summary>Why a request was created twice, read from what the provider answered the creates before its last.</summary>
    private static string CauseOf(IReadOnlyList<ReceivedCreateRequest> earlier, SimulatorState simulator)
    {
        if (earlier.Any(c => c.ResponseStatus == 200))
        {
            return AnsweredCause;
        }

        if (earlier.Any(c => c.ResponseStatus == ReceivedCreateRequest.NeverAnswered))
        {
            return "a create was never answered";
        }

        if (earlier.FirstOrDefault(c => c.ResponseStatus == 504) is { TaskId: { } orphan })
        {
            // Sending again is right only when that task's callback never arrived: the provider lost it.
            return simulator.GetCallbackSuccessCount(orphan) == 0
                ? "a create answered 504 after making the task, and its callback was lost"
                : "a create answered 504 after making the task, and was sent again although its callback was delivered";
        }

        if (earlier.All(c => c.TaskId is null))
        {
            return $"earlier creates were refused ({string.Join(", ", earlier.Select(c => c.ResponseStatus))}) and retried";
        }

        return OtherCause;
    }

    private const string AnsweredCause = "a create was answered with a task, and the Submitter that held the answer was killed";

    /// <summary>Never expected: an answer lost by a living Submitter (the chaos test fails on it).</summary>
    public const string AnsweredUnexplainedCause = "a create was answered with a task, and sent again although no Submitter died";

    private const string OtherCause = "other";

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    public string Summary() =>
        $"{Requests} requests: {Completed} completed, {Failed} failed ({string.Join(", ", FailureCodes.Select(c => $"{c.Key} {c.Value}"))}); " +
        $"lost {Lost.Count}, conflicting {Conflicting.Count}, false failures {FalseFailures.Count}, repeats with the same MessageId {Repeats}; " +
        $"created at the provider more than once: {DoubleCreates.Count(d => d.TasksMade > 1)} (sent more than once: {DoubleCreates.Count}); " +
        $"all terminal {SettledAfterLastFault.TotalSeconds:0} s after the last fault; end to end p50 {P50Seconds:0.0} s, p99 {P99Seconds:0.0} s; run {Duration.TotalMinutes:0.0} min";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public (string Markdown, string Json) Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var markdownPath = Path.Combine(directory, "chaos-latest.md");
        var jsonPath = Path.Combine(directory, "chaos-latest.json");
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(this, Indented));
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Chaos run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine("| measure | value | target |");
        md.AppendLine("|---|---:|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| requests | {Requests} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| completed / failed | {Completed} / {Failed} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| lost | {Lost.Count} | 0 |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| two different terminal events | {Conflicting.Count} | 0 |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| false failures | {FalseFailures.Count} | 0 |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| failed after two ambiguous creates (504 after making the task, or no answer) and no callback | {FailedAfterAmbiguousCreatesOnly} | counted |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| repeats with the same MessageId (allowed) | {Repeats} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| sent to the provider more than once | {DoubleCreates.Count} | only when the outcome was unknown |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| created at the provider more than once | {DoubleCreates.Count(d => d.TasksMade > 1)} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| every request terminal after the last fault | {SettledAfterLastFault.TotalSeconds:0} s{(Settled ? "" : " (not all)")} | ≤ 120 s |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| end to end p50 / p99 | {P50Seconds:0.0} s / {P99Seconds:0.0} s | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| run | {Duration.TotalMinutes:0.0} min | |");
        md.AppendLine();
        md.AppendLine("Failure codes: " + (FailureCodes.Count == 0 ? "none" : string.Join(", ", FailureCodes.Select(c => $"`{c.Key}` {c.Value}"))));
        md.AppendLine();
        md.AppendLine("## Creates sent more than once, by cause");
        md.AppendLine();
        foreach (var cause in DoubleCreates.GroupBy(d => d.Cause))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {cause.Key}: {cause.Count()} (tasks made twice: {cause.Count(d => d.TasksMade > 1)})");
            foreach (var unexplained in cause.Where(d => d.Detail is not null).Take(10))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"  - {unexplained.RequestId}: {unexplained.Detail}");
            }
        }

        md.AppendLine();
        md.AppendLine("## Faults");
        md.AppendLine();
        foreach (var fault in Faults)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- at {fault.At:mm\\:ss}: {fault.Name} ({fault.Took.TotalSeconds:0.0} s)");
        }

        foreach (var failure in FalseFailures.Take(20))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- false failure: {failure}");
        }

        File.WriteAllText(markdownPath, md.ToString());
        return (markdownPath, jsonPath);
    }
}
