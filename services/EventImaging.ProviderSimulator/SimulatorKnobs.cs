namespace EventImaging.ProviderSimulator;

/// <summary>
/// Behaviour knobs for every task of this instance. Bound from section <c>Simulator</c> at start,
/// replaced at runtime through <c>PUT /simulator/knobs</c> or <see cref="SimulatorState.SetKnobs"/>.
/// Prompt markers (<c>[sim:...]</c>) override them per request.
/// </summary>
public sealed record SimulatorKnobs
{
    /// <summary>Time from create to the terminal state.</summary>
    public int CompletionDelayMs { get; init; } = 1500;

    /// <summary>Added to every provider API call (create and status).</summary>
    public int ResponseLatencyMs { get; init; }

    /// <summary>Added to create calls only, on top of <see cref="ResponseLatencyMs"/>.</summary>
    public int CreateLatencyMs { get; init; }

    /// <summary>Every task fails with this provider error code (e.g. <c>content_policy_violation</c>).</summary>
    public string? FailWithCode { get; init; }

    /// <summary>Every task fails without an error object (evolink documents that this happens).</summary>
    public bool FailWithoutError { get; init; }

    /// <summary>Every task ends <c>cancelled</c> (evolink) / <c>FAILED</c> (gptimage15).</summary>
    public bool CancelTasks { get; init; }

    /// <summary>Tasks stay in processing forever and never call back.</summary>
    public bool NeverFinish { get; init; }

    /// <summary>Create answers with this HTTP status and the provider's documented error body.</summary>
    public int? CreateErrorStatus { get; init; }

    /// <summary>Only the first N create attempts with the same prompt fail; 0 means every attempt.</summary>
    public int CreateErrorTimes { get; init; }

    /// <summary>Value of the Retry-After header on injected create and query errors.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Status queries answer with this HTTP status (429 or 500).</summary>
    public int? QueryErrorStatus { get; init; }

    /// <summary>Only the next N status queries fail (counted from when the knobs were set).</summary>
    public int QueryErrorCount { get; init; }

    /// <summary>Status queries fail for this long after the knobs were set.</summary>
    public int QueryErrorForMs { get; init; }

    /// <summary>Never send any callback.</summary>
    public bool DropCallbacks { get; init; }

    /// <summary>Deliver each callback this many times (duplicates are what idempotent receivers exist for).</summary>
    public int CallbackCopies { get; init; } = 1;

    /// <summary>
    /// Delays before evolink's callback retries. Null means the documented 1000, 2000, 4000 ms;
    /// tests shorten it to stay fast. gptimage15 documents no retries and never retries.
    /// </summary>
    public int[]? EvolinkCallbackRetryDelaysMs { get; init; }

    /// <summary>How long result URLs work after the task finished (evolink documents 24 hours); 0 keeps them for ever.</summary>
    public int ResultUrlLifetimeMs { get; init; } = 24 * 60 * 60 * 1000;

    /// <summary>Pads each result PNG to about this many bytes (a real image is 1.5–3 MB); 0 serves the small PNG as it is.</summary>
    public int ResultFileBytes { get; init; }

    /// <summary>Which documented variant of the gptimage15 status/callback body to emit.</summary>
    public GptImage15Shape GptImage15Shape { get; init; } = new();

    /// <summary>Misbehaviour by share of tasks or calls, drawn at random: what a provider does on a bad day.</summary>
    public ChaosShares Chaos { get; init; } = new();

    internal static readonly int[] DocumentedEvolinkRetryDelaysMs = [1000, 2000, 4000];

    internal static readonly int[] InjectableStatuses = [400, 401, 402, 403, 404, 413, 429, 500, 502, 503];

    internal IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (CompletionDelayMs < 0)
        {
            problems.Add("Simulator:CompletionDelayMs must be 0 or more.");
        }

        if (ResponseLatencyMs < 0 || CreateLatencyMs < 0)
        {
            problems.Add("Simulator:ResponseLatencyMs and Simulator:CreateLatencyMs must be 0 or more.");
        }

        if (CreateErrorStatus is { } create && !InjectableStatuses.Contains(create))
        {
            problems.Add($"Simulator:CreateErrorStatus must be one of {string.Join(", ", InjectableStatuses)}.");
        }

        if (QueryErrorStatus is { } query && !InjectableStatuses.Contains(query))
        {
            problems.Add($"Simulator:QueryErrorStatus must be one of {string.Join(", ", InjectableStatuses)}.");
        }

        if (CreateErrorTimes < 0 || QueryErrorCount < 0 || QueryErrorForMs < 0)
        {
            problems.Add("Simulator:CreateErrorTimes, QueryErrorCount and QueryErrorForMs must be 0 or more.");
        }

        if (ResultUrlLifetimeMs < 0 || ResultFileBytes < 0)
        {
            problems.Add("Simulator:ResultUrlLifetimeMs and Simulator:ResultFileBytes must be 0 or more.");
        }

        if (CallbackCopies < 0)
        {
            problems.Add("Simulator:CallbackCopies must be 0 or more.");
        }

        if (RetryAfterSeconds < 0)
        {
            problems.Add("Simulator:RetryAfterSeconds must be 0 or more.");
        }

        if (EvolinkCallbackRetryDelaysMs is { } delays && delays.Any(d => d < 0))
        {
            problems.Add("Simulator:EvolinkCallbackRetryDelaysMs must not contain negative values.");
        }

        problems.AddRange(Chaos.Validate());

        return problems;
    }
}

/// <summary>
/// The published gptimage15 documents disagree on the status body; each flag switches one
/// field to the other documented form. All false is the main document's shape.
/// </summary>
public sealed record GptImage15Shape
{
    /// <summary><c>status</c> as 0 (running), 1 (success), -1 (failed) instead of names.</summary>
    public bool NumericStatus { get; init; }

    /// <summary><c>response</c> (and <c>request</c>) as a JSON string containing the value.</summary>
    public bool ResponseAsString { get; init; }

    /// <summary><c>consumed_credit</c> instead of <c>consumed_credits</c>.</summary>
    public bool SingularCreditField { get; init; }

    /// <summary><c>created_at</c> as <c>YYYY-MM-DD HH:MM:SS</c> instead of ISO 8601.</summary>
    public bool PlainTimestamps { get; init; }

    /// <summary>Callback body is the <c>data</c> object instead of the whole status response.</summary>
    public bool CallbackDataOnly { get; init; }
}

/// <summary>
/// Faults by share (0 to 1), each drawn independently per task or per call. All 0 (the default) is a provider that
/// behaves. <see cref="CreateThenGatewayTimeout"/> and <see cref="CreateHang"/> are the ambiguous creates: the first
/// makes and bills the task and then answers 504, as a gateway that timed out after forwarding does; the second never
/// answers (and makes no task).
/// </summary>
public sealed record ChaosShares
{
    /// <summary>Tasks whose callbacks are never sent.</summary>
    public double DropCallback { get; init; }

    /// <summary>Tasks whose callback is delivered twice.</summary>
    public double DuplicateCallback { get; init; }

    /// <summary>Each callback is held back by a random 0 to this many milliseconds, so callbacks arrive out of order.</summary>
    public int CallbackJitterMs { get; init; }

    /// <summary>Status queries answered 429 or 503 instead.</summary>
    public double QueryError { get; init; }

    /// <summary>Creates answered 429, 500 or 503 before anything is created.</summary>
    public double CreateError { get; init; }

    /// <summary>Creates that make the task and then answer 504.</summary>
    public double CreateThenGatewayTimeout { get; init; }

    /// <summary>Creates that are never answered (the client gives up); no task is made.</summary>
    public double CreateHang { get; init; }

    internal IEnumerable<string> Validate()
    {
        double[] shares = [DropCallback, DuplicateCallback, QueryError, CreateError, CreateThenGatewayTimeout, CreateHang];
        if (shares.Any(share => share is < 0 or > 1 || double.IsNaN(share)))
        {
            yield return "Simulator:Chaos shares must be between 0 and 1.";
        }

        if (CreateError + CreateThenGatewayTimeout + CreateHang > 1)
        {
            yield return "Simulator:Chaos:CreateError, CreateThenGatewayTimeout and CreateHang must add up to at most 1.";
        }

        if (CallbackJitterMs < 0)
        {
            yield return "Simulator:Chaos:CallbackJitterMs must be 0 or more.";
        }
    }
}
