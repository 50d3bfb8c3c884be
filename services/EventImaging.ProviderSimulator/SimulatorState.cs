using System.Collections.Concurrent;
using EventImaging.ProviderSimulator.Tasks;
using Microsoft.Extensions.Options;

namespace EventImaging.ProviderSimulator;

/// <summary>
/// Everything the simulator saw and the knobs it currently runs with. In-process tests read it
/// directly; the admin endpoints expose the same data over HTTP.
/// </summary>
public sealed class SimulatorState
{
    private readonly ConcurrentDictionary<string, SimulatedTask> tasks = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ReceivedCreateRequest> requests = new();
    private readonly ConcurrentDictionary<(SimulatedProvider, string), int> createAttempts = new();
    private readonly TimeProvider time;
    private readonly int maxRecordedRequests;
    private KnobsEpoch current;
    private int queryErrorsLeft;

    public SimulatorState(IOptions<SimulatorKnobs> knobs, IOptions<SimulatorOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(knobs);
        ArgumentNullException.ThrowIfNull(options);
        this.time = time;
        maxRecordedRequests = Math.Max(1, options.Value.MaxRecordedRequests);
        current = new KnobsEpoch(knobs.Value, time.GetUtcNow());
        queryErrorsLeft = knobs.Value.QueryErrorCount;
    }

    public SimulatorKnobs Knobs => Volatile.Read(ref current).Knobs;

    /// <summary>Replaces every knob; counters such as "next N queries fail" restart from now.</summary>
    /// <exception cref="ArgumentException">A knob is out of range.</exception>
    public void SetKnobs(SimulatorKnobs value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var problems = value.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(value));
        }

        Apply(value);
    }

    public void UpdateKnobs(Func<SimulatorKnobs, SimulatorKnobs> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        SetKnobs(change(Knobs));
    }

    public IReadOnlyList<ReceivedCreateRequest> GetCreateRequests() => [.. requests];

    public IReadOnlyList<ReceivedCreateRequest> GetCreateRequests(SimulatedProvider provider) =>
        [.. requests.Where(r => r.Provider == provider)];

    public int GetStatusQueryCount(string taskId) => Find(taskId)?.StatusQueries ?? 0;

    public int GetCallbackAttemptCount(string taskId) => Find(taskId)?.CallbackAttempts ?? 0;

    public int GetCallbackSuccessCount(string taskId) => Find(taskId)?.CallbackSuccesses ?? 0;

    public SimulatorStats GetStats()
    {
        var now = time.GetUtcNow();
        var all = tasks.Values.OrderBy(t => t.CreatedAt).ToList();
        var received = requests.ToList();
        return new SimulatorStats(
            ForProvider(SimulatedProvider.Evolink),
            ForProvider(SimulatedProvider.GptImage15),
            [.. all.Select(t => new TaskStats(
                t.Id, t.Provider, t.At(now).Phase.ToString().ToLowerInvariant(),
                t.StatusQueries, t.CallbackAttempts, t.CallbackSuccesses))]);

        ProviderStats ForProvider(SimulatedProvider provider)
        {
            var mine = all.Where(t => t.Provider == provider).ToList();
            return new ProviderStats(
                received.Count(r => r.Provider == provider),
                mine.Count,
                mine.Sum(t => t.StatusQueries),
                mine.Sum(t => t.CallbackAttempts),
                mine.Sum(t => t.CallbackSuccesses));
        }
    }

    internal SimulatedTask? Find(string taskId) => tasks.GetValueOrDefault(taskId);

    internal void Add(SimulatedTask task) => tasks[task.Id] = task;

    internal void Record(ReceivedCreateRequest request)
    {
        requests.Enqueue(request);
        while (requests.Count > maxRecordedRequests && requests.TryDequeue(out _))
        {
        }
    }

    /// <summary>Decides whether this status query is one of the instance's injected failures.</summary>
    /// <summary>Counts create attempts per prompt so "fail the first N attempts" survives client retries.</summary>
    internal int CountCreateAttempt(SimulatedProvider provider, string prompt) =>
        createAttempts.AddOrUpdate((provider, prompt), 1, (_, n) => n + 1);

    /// <returns>The status to answer with, or null when the query is served normally.</returns>
    internal int? ConsumeInstanceQueryError(DateTimeOffset now)
    {
        var epoch = Volatile.Read(ref current);
        var knobs = epoch.Knobs;
        if (knobs.QueryErrorStatus is not { } status)
        {
            return null;
        }

        if (knobs.QueryErrorForMs > 0 && now < epoch.SetAt + TimeSpan.FromMilliseconds(knobs.QueryErrorForMs))
        {
            return status;
        }

        if (knobs.QueryErrorCount > 0)
        {
            return Interlocked.Decrement(ref queryErrorsLeft) >= 0 ? status : null;
        }

        // Neither a count nor a window: the knob means "every query fails".
        return knobs.QueryErrorForMs == 0 ? status : null;
    }

    private void Apply(SimulatorKnobs value)
    {
        // The lock keeps the counter reset and the knob swap together when two PUTs race.
        lock (requests)
        {
            Volatile.Write(ref queryErrorsLeft, value.QueryErrorCount);
            Volatile.Write(ref current, new KnobsEpoch(value, time.GetUtcNow()));
        }
    }

    private sealed record KnobsEpoch(SimulatorKnobs Knobs, DateTimeOffset SetAt);
}
