using System.Diagnostics;
using System.Diagnostics.Metrics;
using EventImaging.Core.Ledger;
using EventImaging.Core.Providers.Evolink;
using EventImaging.Core.Providers.GptImage15;

namespace EventImaging.Core.Telemetry;

/// <summary>
/// EventImaging's request metrics, with low-cardinality labels only (provider, model, code, path, outcome):
/// never a request id, task id or URL. Provider and model labels are the known names or <c>other</c>: an invalid
/// command names whatever its caller wrote, and that must not create a series.
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
    private readonly Counter<long> deadLettered;
    private readonly Counter<long> historyDropped;
    private readonly Counter<long> expired;
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
            "Rows per group-committed ledger statement (the callback path's, and the poller's reschedules), by statement.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
        deadLettered = meter.CreateCounter<long>(
            "eventimaging.commands.dead_lettered", "{message}", "Messages moved to an error queue, by reason: unreadable (no requestId to answer) or fault.");
        historyDropped = meter.CreateCounter<long>(
            "eventimaging.history.dropped", "{entry}", "History entries dropped because the queue of entries waiting for the ledger was full.");
        expired = meter.CreateCounter<long>("eventimaging.retention.deleted", "{request}", "Finished requests deleted by retention, with their history.");
        shed = meter.CreateCounter<long>("eventimaging.callbacks.shed", "{callback}", "Callbacks answered 503 because Callbacks:MaxInFlight were already in flight.");
    }

    /// <summary>The label for a provider or model name: known ones as they are, anything else <c>other</c>.</summary>
    public const string Other = "other";

    private static readonly HashSet<string> KnownProviders = [EvolinkClient.ProviderName, GptImage15Client.ProviderName];

    private static readonly HashSet<string> KnownModels =
        [.. EvolinkClient.Evolink.Models.Keys, .. GptImage15Client.GptImage15.Models.Keys];

    private static string ProviderLabel(string provider) => KnownProviders.Contains(provider) ? provider : Other;

    private static string ModelLabel(string model) => KnownModels.Contains(model) ? model : Other;

    public void Submitted(ImageRequest row) =>
        submitted.Add(1, new TagList { { "provider", ProviderLabel(row.Provider) }, { "model", ModelLabel(row.Model) } });

    /// <summary>A terminal transition this process won; <paramref name="path"/> is how the outcome was learnt.</summary>
    public void Finished(ImageRequest row, TerminalOutcome outcome, string? path)
    {
        var provider = ProviderLabel(row.Provider);
        var tags = new TagList { { "provider", provider }, { "model", ModelLabel(row.Model) } };
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

        duration.Record((clock.GetUtcNow() - row.CreatedAt).TotalSeconds, new TagList { { "provider", provider }, { "outcome", outcome.State == RequestState.Completed ? "completed" : "failed" } });
        polls.Record(row.PollCount + (path == Contracts.CompletionPaths.Poll ? 1 : 0), new TagList { { "provider", provider } });
    }

    /// <summary>One group-committed statement (<c>read</c>, <c>finish</c>, <c>mark</c> or <c>reschedule</c>) and how many callers it served.</summary>
    public void LedgerBatch(string statement, int rows) =>
        batches.Record(rows, new TagList { { "statement", statement } });

    /// <summary>A message moved to an error queue; <paramref name="reason"/> is <c>unreadable</c> or <c>fault</c>.</summary>
    public void DeadLettered(string reason) => deadLettered.Add(1, new TagList { { "reason", reason } });

    /// <summary>A history entry dropped: the queue of entries waiting for the ledger was full.</summary>
    public void HistoryDropped() => historyDropped.Add(1);

    /// <summary>Finished requests deleted by retention.</summary>
    public void RetentionDeleted(int requests) => expired.Add(requests);

    /// <summary>A callback turned away with 503: the receiver already had <c>Callbacks:MaxInFlight</c> in hand.</summary>
    public void CallbackShed() => shed.Add(1);

    /// <summary>Times one provider call; <paramref name="outcome"/> is <c>ok</c> or the failure kind.</summary>
    public void ProviderCall(string provider, string operation, string outcome, TimeSpan elapsed) =>
        providerCalls.Record(elapsed.TotalSeconds, new TagList { { "provider", provider }, { "operation", operation }, { "outcome", outcome } });
}
