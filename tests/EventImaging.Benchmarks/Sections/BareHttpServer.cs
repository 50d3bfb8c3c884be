using EventImaging.Core.Callbacks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// The HTTP baseline: a Kestrel app with nothing but the callback route, which reads the body and answers 200.
/// It runs as its own process (this program started with <see cref="Flag"/>), as the WebhookReceiver does.
/// </summary>
internal static class BareHttpServer
{
    public const string Flag = "--bare-http-server";

    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args.Where(a => a != Flag).ToArray());
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost(CallbackEndpoints.RoutePattern, async (HttpRequest request) =>
        {
            await request.Body.CopyToAsync(Stream.Null);
            return Results.Ok();
        });
        app.MapGet("/health/ready", () => Results.Ok());
        await app.RunAsync();
    }
}
