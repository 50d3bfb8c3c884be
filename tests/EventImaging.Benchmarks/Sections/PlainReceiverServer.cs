using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// A plain receiver: the WebhookReceiver's libraries (Kestrel, MassTransit on RabbitMQ, EF Core on Npgsql, through the
/// product's DbContext registration) and none of EventImaging's own work: no token, no write, no group commit, no log
/// line, no telemetry. Each POST reads its body, reads the ledger row by key and publishes an ImageCompleted with the
/// receiver's fields. It runs as its own process (this program started with <see cref="Flag"/>), as the receiver does,
/// to show what these libraries alone take in memory once they have served requests, and what they do when used
/// one request at a time.
/// </summary>
internal static class PlainReceiverServer
{
    public const string Flag = "--plain-receiver-server";

    public const string RoutePrefix = "/plain/";

    /// <summary>Its name in the report.</summary>
    public const string Name = "plain receiver (reference: Kestrel + MassTransit + EF Core, a row read and a publish per POST)";

    public static async Task RunAsync(string[] args)
    {
        var builder = ReferenceHost.CreateBuilder(args, Flag);
        // The receiver's own DbContext registration (pooled, its connection-pool settings), nothing else of the ledger.
        builder.AddLedgerDatabase();

        var app = builder.Build();
        app.MapPost(RoutePrefix + "{requestId:guid}", async (Guid requestId, HttpRequest request, LedgerDbContext db, IBus bus, CancellationToken cancellation) =>
        {
            await request.Body.CopyToAsync(Stream.Null, cancellation);
            var row = await db.Requests.AsNoTracking().FirstOrDefaultAsync(r => r.RequestId == requestId, cancellation);
            if (row is null)
            {
                return Results.NotFound();
            }

            await bus.Publish(Completed(row), cancellation);
            return Results.Ok();
        });
        await ReferenceHost.RunAsync(app);
    }

    /// <summary>The fields of the receiver's event for a simulator task.</summary>
    private static ImageCompleted Completed(ImageRequest row) => new()
    {
        RequestId = row.RequestId,
        Provider = row.Provider,
        Model = row.Model,
        Metadata = new Dictionary<string, string> { ["order"] = "42", ["tenant"] = "benchmark" },
        ProviderTaskId = row.ProviderTaskId ?? "",
        ImageUrls = [$"https://files.evolink.ai/images/{row.ProviderTaskId}/0.png"],
        UrlsExpireAt = DateTimeOffset.UtcNow.AddHours(24),
        CompletedVia = CompletionPaths.Callback,
        CompletedAt = DateTimeOffset.UtcNow,
        CreditsUsed = 1.0,
    };
}
