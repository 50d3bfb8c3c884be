using System.Diagnostics;
using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Requests;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Submission;

/// <summary>The ledger row a command starts: received (a valid one, recorded with its first submit lease), or born failed (an invalid one).</summary>
public sealed class NewRows(IOptions<RequestOptions> requests, TimeProvider clock)
{
    public ImageRequest Received(RoutedCommand routed)
    {
        var command = routed.Command;
        var now = clock.GetUtcNow();
        return new ImageRequest
        {
            RequestId = command.RequestId,
            Provider = routed.Provider,
            Model = routed.ModelForEvents,
            State = RequestState.Received,
            // The command as the caller sent it: whether it named a provider decides failover.
            CommandJson = JsonSerializer.Serialize(command, EventJson.Options),
            // Every instant in the ledger is UTC: PostgreSQL takes no other offset, and SQLite orders them as numbers.
            Deadline = (command.Deadline ?? now + requests.Value.DefaultDeadline).ToUniversalTime(),
            TraceParent = Activity.Current?.Id,
            TraceState = Activity.Current?.TraceStateString,
        };
    }

    /// <summary>
    /// The row of an invalid command, which is born terminal: what the caller wrote is kept only as far as it is bounded
    /// (provider and model cut to their columns, metadata only when it is valid to echo), never the rest of the body.
    /// </summary>
    public ImageRequest Rejected(RoutedCommand routed)
    {
        var command = routed.Command;
        var kept = new GenerateImage
        {
            RequestId = command.RequestId,
            Prompt = "",
            Metadata = MetadataRules.IsValid(command.Metadata) ? command.Metadata : null,
        };
        return new ImageRequest
        {
            RequestId = command.RequestId,
            Provider = CallerText.Shorten(routed.Provider, LedgerDbContext.ProviderLength),
            Model = CallerText.Shorten(routed.ModelForEvents, LedgerDbContext.ModelLength),
            State = RequestState.Received,
            CommandJson = JsonSerializer.Serialize(kept, EventJson.Options),
            Deadline = clock.GetUtcNow(),
            TraceParent = Activity.Current?.Id,
            TraceState = Activity.Current?.TraceStateString,
        };
    }
}
