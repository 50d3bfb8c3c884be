namespace EventImaging.ProviderSimulator.Behaviour;

/// <summary>
/// A task's result file: a real PNG padded to <paramref name="Bytes"/> (0: as small as it renders), or, when
/// <paramref name="Broken"/>, an HTML error page served as <c>image/png</c>; each 64 KiB sent after
/// <paramref name="SlowMsPer64KiB"/>; its URL stops working <paramref name="UrlLifetime"/> after the task finished
/// (zero: never).
/// </summary>
internal sealed record ResultFile(bool Broken, int Bytes, int SlowMsPer64KiB, TimeSpan UrlLifetime);

internal enum TaskOutcome
{
    Complete,
    Fail,
    Cancel,
    NeverFinish,
}

/// <summary>
/// How one task behaves, fixed at create time from the instance knobs and the prompt markers
/// (markers win), so changing the knobs later does not rewrite the history of running tasks.
/// </summary>
internal sealed record TaskBehaviour
{
    public required TimeSpan CompletionDelay { get; init; }
    public required TaskOutcome Outcome { get; init; }

    /// <summary>Null on a failing task means "failed without an error object".</summary>
    public string? FailureCode { get; init; }
    public bool DropCallback { get; init; }
    public int CallbackCopies { get; init; } = 1;

    /// <summary>Extra delay of this task's first callback (chaos: callbacks out of order).</summary>
    public TimeSpan CallbackJitter { get; init; }

    /// <summary>Extra latency on every call about this task, added to the instance latency.</summary>
    public TimeSpan Latency { get; init; }
    public int? QueryErrorStatus { get; init; }
    public int QueryErrorCount { get; init; }
    public TimeSpan QueryErrorWindow { get; init; }
    public int? RetryAfterSeconds { get; init; }
    public required GptImage15Shape Shape { get; init; }

    /// <summary>What the task's result URL serves: see <see cref="ResultFile"/>.</summary>
    public required ResultFile File { get; init; }

    public static TaskBehaviour Resolve(SimulatorKnobs knobs, PromptMarkers markers)
    {
        var outcome = TaskOutcome.Complete;
        string? failureCode = null;
        if (markers.NeverFinish || (knobs.NeverFinish && !markers.Fail && !markers.Cancel))
        {
            outcome = TaskOutcome.NeverFinish;
        }
        else if (markers.Cancel || (knobs.CancelTasks && !markers.Fail))
        {
            outcome = TaskOutcome.Cancel;
        }
        else if (markers.Fail)
        {
            outcome = TaskOutcome.Fail;
            failureCode = markers.FailWithoutError ? null : markers.FailCode;
        }
        else if (knobs.FailWithoutError || !string.IsNullOrEmpty(knobs.FailWithCode))
        {
            outcome = TaskOutcome.Fail;
            failureCode = knobs.FailWithoutError ? null : knobs.FailWithCode;
        }

        return new TaskBehaviour
        {
            CompletionDelay = TimeSpan.FromMilliseconds(markers.DelayMs ?? knobs.CompletionDelayMs),
            Outcome = outcome,
            FailureCode = failureCode,
            // Fixed at creation, like every other behaviour: flipping the knob later does not change running tasks.
            DropCallback = markers.NoCallback || knobs.DropCallbacks || Random.Shared.NextDouble() < knobs.Chaos.DropCallback,
            CallbackCopies = markers.Callbacks ?? (Random.Shared.NextDouble() < knobs.Chaos.DuplicateCallback ? 2 : knobs.CallbackCopies),
            CallbackJitter = TimeSpan.FromMilliseconds(Random.Shared.Next(knobs.Chaos.CallbackJitterMs + 1)),
            Latency = TimeSpan.FromMilliseconds(markers.LatencyMs ?? 0),
            QueryErrorStatus = markers.QueryErrorStatus,
            QueryErrorCount = markers.QueryErrorCount ?? 0,
            QueryErrorWindow = TimeSpan.FromMilliseconds(markers.QueryErrorMs ?? 0),
            RetryAfterSeconds = markers.RetryAfterSeconds ?? knobs.RetryAfterSeconds,
            Shape = markers.Shape ?? knobs.GptImage15Shape,
            File = new ResultFile(
                markers.BrokenFile,
                markers.FileBytes ?? knobs.ResultFileBytes,
                markers.FileSlowMs ?? 0,
                TimeSpan.FromMilliseconds(markers.UrlLifetimeMs ?? knobs.ResultUrlLifetimeMs)),
        };
    }
}
