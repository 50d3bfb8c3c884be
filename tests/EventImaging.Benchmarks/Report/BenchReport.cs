using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Benchmarks.Load;

namespace EventImaging.Benchmarks.Report;

/// <summary>Everything one run measured; written as latest.json and rendered as latest.md.</summary>
internal sealed class BenchReport
{
    public DateTimeOffset StartedAt { get; set; }

    public double DurationSeconds { get; set; }

    public bool Quick { get; set; }

    public MachineInfo? Machine { get; set; }

    /// <summary>The machine's load average when each section started: other work on the machine shows here.</summary>
    public List<string> LoadAverages { get; init; } = [];

    public BaselineResults? Baseline { get; set; }

    public CallbackResults? Callbacks { get; set; }

    /// <summary>The opt-in composition section: the callback's parts composed in one process.</summary>
    public CompositionResults? Composition { get; set; }

    public ArchivingResults? Archiving { get; set; }

    public List<SubmissionResult> Submission { get; init; } = [];

    public List<PollingResult> Polling { get; init; } = [];

    /// <summary>EXPLAIN (ANALYZE, BUFFERS) of the claim of 1,000 due rows among 100,000, as text.</summary>
    public string? ClaimPlan { get; set; }

    public List<FootprintResult> Footprint { get; init; } = [];

    public MemoryLimitResults? MemoryLimit { get; set; }

    public List<MicroResult> Micro { get; init; } = [];

    /// <summary>Each section's wall time, in the order they ran.</summary>
    public List<SectionTime> SectionTimes { get; init; } = [];

    /// <summary>The targets, from the measurements above (<see cref="Report.Targets"/>).</summary>
    public List<TargetResult> Targets { get; set; } = [];

    public List<string> Notes { get; init; } = [];
}

/// <summary>
/// One closed-loop level: <paramref name="Concurrency"/> operations in flight, the rate they completed at, and the CPU
/// each completed operation cost (µs) in the service process, PostgreSQL, RabbitMQ, this benchmark and the machine.
/// </summary>
internal sealed record RateLevel(int Concurrency, double RatePerSecond, int Sent, int Failed, CpuUse? CpuPerOperation = null);

internal sealed record BaselineResults(int MessageJsonBytes, List<RateLevel> MassTransit, double MassTransitMax, List<RateLevel> Http, double HttpMax, List<RateLevel> Ledger, double LedgerMax);

/// <summary>Latency of callbacks sent at a constant rate: POST sent (when it was due) → ImageCompleted consumed.</summary>
/// <paramref name="CompletedPerSecond"/>: events consumed in each second of the run (a stall or a collapse shows there).
internal sealed record LatencyPoint(double FractionOfMax, double OfferedRate, int Sent, int Failed, LatencySummary Latency, int[] CompletedPerSecond, LatencyStages? Stages = null);

/// <summary>
/// The receiver's callback runs; <paramref name="DuplicateEvents"/>, <paramref name="LostEvents"/> (answered 200, no
/// event within the drain timeout), <paramref name="TurnedAway"/> (answers of 503 at <c>Callbacks:MaxInFlight</c>,
/// sent again as the providers do) and <paramref name="GivenUp"/> (turned away at every retry, as the providers then
/// give up) over every run of the section, warm-up included.
/// </summary>
internal sealed record CallbackResults(
    int BodyBytes,
    List<RateLevel> ClosedLoop,
    double MaxRate,
    List<LatencyPoint> OpenLoop,
    IReadOnlyDictionary<int, int> ErrorStatuses,
    int DuplicateEvents,
    int LostEvents = 0,
    PlainReceiverResults? PlainReceiver = null,
    int TurnedAway = 0,
    OverloadResult? Overload = null,
    int GivenUp = 0,
    List<ComparisonRound>? Rounds = null);

/// <summary>A callback's parts, each measured alone at its level, one after the other.</summary>
internal sealed record PartsRound(RateLevel Ledger, RateLevel Publish, RateLevel Http)
{
    /// <summary>Machine CPU per callback of the three parts together (µs); NaN when one was not measured.</summary>
    public double MachineMicroseconds =>
        (Ledger.CpuPerOperation?.Machine ?? double.NaN) + (Publish.CpuPerOperation?.Machine ?? double.NaN) + (Http.CpuPerOperation?.Machine ?? double.NaN);

    /// <summary>The callbacks a second the parts' CPU allows on <paramref name="cores"/> cores.</summary>
    public double Bound(int cores) => cores * 1_000_000 / MachineMicroseconds;
}

/// <summary>
/// One round of the comparisons: the parts (when the baseline ran), the receiver and the plain receiver, each measured
/// right after the other, so that a ratio compares figures taken within the same half-minute of this machine.
/// </summary>
internal sealed record ComparisonRound(PartsRound? Parts, RateLevel Receiver, RateLevel Plain, RateLevel? Composed = null);

/// <summary>
/// The receiver offered twice its maximum: callbacks sent, answers of 503 sent again, callbacks given up after the
/// providers' three retries, callbacks that failed otherwise (a fault), latency (retries included) and the receiver's
/// peak RSS meanwhile.
/// </summary>
internal sealed record OverloadResult(double OfferedRate, int Sent, int TurnedAway, int GivenUp, int Failed, LatencySummary Latency, double PeakRssMB);

/// <summary>
/// The same callbacks on a plain receiver (the receiver's libraries alone, one row read and one publish per POST): its
/// maximum (the median of the rounds), and its latency at half that maximum and at the receiver's half-maximum rate.
/// </summary>
internal sealed record PlainReceiverResults(RateLevel Max, LatencyPoint AtHalfOfItsMax, LatencyPoint AtReceiversHalf, int DuplicateEvents, int LostEvents);

/// <summary>The same callbacks on <c>ComposedPartsServer</c> (the parts in one process, nothing around them), in each round after the plain receiver.</summary>
internal sealed record CompositionResults(List<RateLevel> ClosedLoop, double MaxRate, int DuplicateEvents, int LostEvents);

/// <summary>
/// Callbacks with archiving on: <paramref name="Store"/> and where it ran, the result files' sizes (bytes, spread evenly
/// over the range), the Submitter's <c>Polling:Interval</c> and <c>Polling:BatchSize</c> (the archiver claims archiving
/// rows on that cycle), one entry per rate, and over every run of the section: events that came twice, callbacks
/// answered 200 whose event never came, events with <c>archived</c> other than true, answers other than 200. A section
/// that could not run says why in <paramref name="Problem"/>.
/// </summary>
internal sealed record ArchivingResults(
    string Store,
    int FileBytesMin,
    int FileBytesMax,
    double PollingIntervalMs,
    int BatchSize,
    List<ArchivingLevel> Levels,
    int DuplicateEvents,
    int LostEvents,
    int NotArchived,
    IReadOnlyDictionary<int, int> ErrorStatuses,
    string? Problem = null);

/// <summary>
/// One rate of callbacks whose results must be copied: <paramref name="Latency"/>, when the POST was due → the
/// archived <c>ImageCompleted</c> consumed; <paramref name="Answer"/>, POST → 200 (the callback path);
/// <paramref name="Archive"/>, 200 → event consumed (the row waits for the archiver's next cycle, the copy, the publish);
/// the rate images were archived at and their megabytes per second, from the first due instant to the last event;
/// the peak RSS of the Submitter (the archiver) and the receiver, sampled every 200 ms from the first callback to the
/// last event; CPU per archived image (µs: the Submitter · PostgreSQL · RabbitMQ · the benchmark, which hosts the
/// simulator that serves the files · the whole machine), and of the receiver and the S3 server (s3rver) alone.
/// <paramref name="AnswerWithoutArchiving"/>: the same rate of the same callbacks on a receiver with archiving off (its
/// POST → 200), run after the archiving levels with the archiving processes stopped (full run only).
/// </summary>
internal sealed record ArchivingLevel(
    double OfferedRate,
    double Seconds,
    int Sent,
    int Failed,
    int Archived,
    int NotArchived,
    long ArchivedBytes,
    LatencySummary Latency,
    LatencySummary Answer,
    LatencySummary Archive,
    double ArchivedPerSecond,
    double MegabytesPerSecond,
    double SubmitterPeakRssMB,
    double ReceiverPeakRssMB,
    CpuUse? CpuPerImage,
    int[] CompletedPerSecond,
    double ReceiverCpuPerImage = double.NaN,
    double S3ServerCpuPerImage = double.NaN,
    LatencySummary? AnswerWithoutArchiving = null);

internal sealed record SubmissionResult(int CreateLatencyMs, int Concurrency, int Commands, int Submitted, double RatePerSecond, double? Target, CpuUse? CpuPerOperation);

/// <summary>One EXPLAIN (ANALYZE, BUFFERS) of a statement of the claim.</summary>
internal sealed record StatementPlan(string Statement, string Sql, string Plan, long ActualRows, long SharedHit, long SharedRead, double ExecutionMs);

internal sealed record PollingResult(
    int InFlight,
    int Due,
    int BatchSize,
    int Claimed,
    double ClaimMs,
    double SettleMs,
    double CycleMs,
    double ServerMs,
    long Buffers,
    List<StatementPlan> Statements);

/// <summary>VmRSS of a service process in one phase; <paramref name="Breakdown"/>: its parts when it was read (MB).</summary>
internal sealed record FootprintResult(string Service, string Phase, double RssMB, string? Breakdown = null);

internal sealed record MicroResult(string Name, double MeanNs, double ErrorNs, long? AllocatedBytes);

/// <summary>
/// Each service held at half its maximum load for <paramref name="Seconds"/> inside a memory limit of
/// <paramref name="LimitMiB"/>, and for <paramref name="ReferenceSeconds"/> without one (the reference rate; reports
/// before 2026-12-07 20:00 ran it as long and have none), each a fresh process started in a cgroup of its own
/// (<paramref name="Cgroup"/>: which kind). <paramref name="Rates"/> says where the rates came from;
/// <paramref name="PrivateRuntime"/>, whether the services ran from a private copy of the runtime, uncached, so that
/// their code is charged to their cgroup as a container's is; <paramref name="Problem"/>, why the section could not run.
/// </summary>
internal sealed record MemoryLimitResults(double LimitMiB, double Seconds, string? Cgroup, string Rates, bool PrivateRuntime, List<MemoryLimitRun> Runs, string? Problem = null, double? ReferenceSeconds = null)
{
    /// <summary>Per service, its run in the limit and its run without (either may be missing when it could not start).</summary>
    public IEnumerable<(string Service, MemoryLimitRun? Limited, MemoryLimitRun? Unlimited)> Services() =>
        Runs.GroupBy(r => r.Service).Select(g => (g.Key, g.FirstOrDefault(r => r.Limited), g.FirstOrDefault(r => !r.Limited)));
}

/// <summary>
/// One service's run at <paramref name="OfferedRate"/> (callbacks or commands a second, open loop), in the limit or
/// not: the events consumed per second (from the first due instant to the last event, or the end of the run if
/// later), what failed or never came, the cgroup's OOM kills, its major page faults under load (code read back from
/// disk after the kernel took it away to stay in the limit), whether the process was still there at the end, and its
/// resident memory and the cgroup's usage (MB), idle after start-up and at their highest (RSS sampled every 200 ms
/// under load; the cgroup's as the kernel kept it, over the process's life), and the cgroup's highest working set
/// under load (usage less inactive page cache: the kubelet's figure).
/// <paramref name="Problem"/>: why the process could not start. <paramref name="TurnedAway"/>: callbacks the receiver
/// answered 503 at its in-flight bound, which the load generator sent again as the providers do.
/// </summary>
internal sealed record MemoryLimitRun(
    string Service,
    bool Limited,
    double OfferedRate,
    double AchievedRate,
    int Sent,
    int Completed,
    int Failed,
    int? OomKills,
    long? MajorFaults,
    bool Survived,
    double IdleRssMB,
    double PeakRssMB,
    double? IdleCgroupMB,
    double? PeakCgroupMB,
    double? PeakWorkingSetMB,
    string? Problem = null,
    int TurnedAway = 0)
{
    /// <summary>Sent, neither failed nor completed: the event never came.</summary>
    public int Missing => Math.Max(0, Sent - Completed - Failed);
}

/// <summary>How long one section of the run took.</summary>
internal sealed record SectionTime(string Section, double Seconds);

/// <summary>
/// One of the targets: its <paramref name="Id"/>, the figure <paramref name="Measured"/> (null when the run
/// did not measure it, and then not met), the <paramref name="Target"/> in the same <paramref name="Unit"/>, whether
/// the figure must be "at most" or "at least" the target (<paramref name="Direction"/>), and whether it was met;
/// <paramref name="Label"/> and <paramref name="Detail"/> say what it is and how it was decided.
/// </summary>
internal sealed record TargetResult(string Id, double? Measured, double Target, string Unit, string Direction, bool Met, string Label, string Detail);
