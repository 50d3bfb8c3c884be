using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers.Evolink;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// The callback's parts composed in one process and nothing around them: a bare Kestrel route (the request id in the
/// path, the body copied as the receiver copies it), then what the ledger part runs (the parse, the row's read, the
/// outcome, the group-committed terminal transition) and the product's publish with its mark
/// (<see cref="TerminalEventPublisher"/>). No token, no in-flight bound, no rate limiter, no history entry (the ledger's
/// history writer is registered, and idle), no log line, no telemetry. What it reaches against the bound of its parts measured alone is what
/// composing them on one machine costs; what the receiver reaches against it is what EventImaging's own work costs.
/// </summary>
internal static class ComposedPartsServer
{
    public const string Flag = "--composed-parts-server";

    public const string RoutePrefix = "/parts/";

    /// <summary>Its name in the report.</summary>
    public const string Name = "the parts composed (reference: bare Kestrel + a callback's ledger statements + the publish, in one process)";

    public static async Task RunAsync(string[] args)
    {
        var builder = ReferenceHost.CreateBuilder(args, Flag);
        builder.AddLedger();
        builder.AddOutbox();
        builder.Services.AddSingleton(new EvolinkClient(new HttpClient(), Options.Create(new EvolinkOptions())));

        var app = builder.Build();
        app.MapPost(RoutePrefix + "{requestId:guid}", async (Guid requestId, HttpRequest request, LedgerBatches batches, TerminalEventPublisher events, EvolinkClient evolink, CancellationToken cancellation) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, cancellation);
            var task = evolink.ParseCallback(buffer.ToArray());
            if (await batches.FindAsync(requestId, cancellation) is not { } row)
            {
                return Results.NotFound();
            }

            var outcome = TerminalOutcome.ForTask(row, task, evolink.Capabilities.ResultUrlLifetime, CompletionPaths.Callback, DateTimeOffset.UtcNow);
            if (await batches.TryFinishAsync(requestId, outcome, task.TaskId, cancellation))
            {
                await events.PublishAsync(requestId, outcome, cancellation);
            }

            return Results.Ok();
        });
        await ReferenceHost.RunAsync(app);
    }
}
