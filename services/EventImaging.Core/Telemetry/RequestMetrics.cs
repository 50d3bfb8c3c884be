using System.Diagnostics;
using System.Diagnostics.Metrics;
using EventImaging.Core.Ledger;

namespace EventImaging.Core.Telemetry;

/// <summary>
/// EventImaging's request metrics, with low-cardinality labels only (provider, model, code, path, outcome):
/// never a request id, task id or URL.
/// </summary>
public sealed class RequestMetrics
{
    public const string MeterName = "EventImaging";

    private readonly Counter<long> submitted;
    private readonly Counter<long> completed;
    private readonly Counter<long> failed;
    private readonly Histogram<double> duration;
    private readonly Histogram<int> polls;
    private readonly Histogram<double> providerCalls;
    private readonly Histogram<int> batches;
    private readonly Counter<long> shed;
    private readonly TimeProvider clock;

    public RequestMetrics(IMeterFactory meters, TimeProvider clock)
    {
        this.clock = clock;
        var meter = meters.Create(MeterName);
        submitted = meter.CreateCounter<long>("eventimaging.requests.submitted", "{request}", "Requests a provider accepted.");
        completed = meter.CreateCounter<long>("eventimaging.requests.completed", "{request}", "Requests that ended with ImageCompleted, by completion path.");
        failed = meter.CreateCounter<long>("eventimaging.requests.failed", "{request}", "Requests that ended with ImageFailed, by failure code.");
        duration = meter.CreateHistogram<double>("eventimaging.request.duration", "s", "From the command's arrival to its terminal event.");
        polls = meter.CreateHistogram<int>("eventimaging.request.polls", "{query}", "Status queries a request needed before it ended.");
        providerCalls = meter.CreateHistogram<double>("eventimaging.provider.call.duration", "s", "Provider API calls, by operation and outcome.");
        batches = meter.CreateHistogram<int>(
            "eventimaging.ledger.batch.size",
            "{row}",
            "Rows per group-committed ledger statement of the callback path, by statement.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });
        shed = meter.CreateCounter<long>("eventimaging.callbacks.shed", "{callback}", "Callbacks answered 503 because Callbacks:MaxInFlight were already in flight.");
    }

    public void Submitted(ImageRequest row) =>
        submitted.Add(1, new TagList { { "provider", row.Provider }, { "model", row.Model } });

    /// <summary>A terminal transition this process won; <paramref name="path"/> is how the outcome was learnt.</summary>
    public void Finished(ImageRequest row, TerminalOutcome outcome, string? path)
    {
        var tags = new TagList { { "provider", row.Provider }, { "model", row.Model } };
        if (outcome.State == RequestState.Completed)
        {
            tags.Add("completion_path", path);
            completed.Add(1, tags);
        }
        else
        {
            tags.Add("code", outcome.ErrorCode);
            failed.Add(1, tags);
        }

        duration.Record((clock.GetUtcNow() - row.CreatedAt).TotalSeconds, new TagList { { "provider", row.Provider }, { "outcome", outcome.State == RequestState.Completed ? "completed" : "failed" } });
        polls.Record(row.PollCount + (path == Contracts.CompletionPaths.Poll ? 1 : 0), new TagList { { "provider", row.Provider } });
    }

    /// <summary>One group-committed statement (<c>read</c>, <c>finish</c> or <c>mark</c>) and how many callers it served.</summary>
    public void LedgerBatch(string statement, int rows) =>
        batches.Record(rows, new TagList { { "statement", statement } });

    /// <summary>A callback turned away with 503: the receiver already had <c>Callbacks:MaxInFlight</c> in hand.</summary>
    public void CallbackShed() => shed.Add(1);

    /// <summary>Times one provider call; <paramref name="outcome"/> is <c>ok</c> or the failure kind.</summary>
    public void ProviderCall(string provider, string operation, string outcome, TimeSpan elapsed) =>
        providerCalls.Record(elapsed.TotalSeconds, new TagList { { "provider", provider }, { "operation", operation }, { "outcome", outcome } });
}
