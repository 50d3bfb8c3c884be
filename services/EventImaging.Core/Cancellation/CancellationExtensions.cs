using EventImaging.Core.Messaging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Cancellation;

public static class CancellationExtensions
{
    /// <summary>Cancelling requests (<see cref="RequestCanceller"/>), for an API that cancels. Needs <c>AddLedger</c> and <c>AddOutbox</c>.</summary>
    public static IHostApplicationBuilder AddRequestCanceller(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<RequestCanceller>();
        return builder;
    }

    /// <summary>The <c>CancelImage</c> command's consumer (queue <c>cancel-image</c>) and the canceller it uses.</summary>
    public static IHostApplicationBuilder AddCancellation(this IHostApplicationBuilder builder)
    {
        builder.AddRequestCanceller();
        builder.MessageBus().AddConsumer<CancelImageConsumer, CancelImageConsumerDefinition>();
        return builder;
    }

    /// <summary>A cancel's answer over HTTP: 200 cancelled, 409 already finished, 404 unknown; the body says which.</summary>
    public static IResult ToHttpResult(this CancelOutcome outcome, Guid requestId) => outcome.Result switch
    {
        CancelResult.Cancelled => Results.Ok(new { requestId, result = "cancelled", state = "failed" }),
        CancelResult.AlreadyFinished => Results.Problem(
            statusCode: StatusCodes.Status409Conflict,
            title: $"Request {requestId} had already ended ({outcome.State?.ToString().ToLowerInvariant()}); nothing changed."),
        _ => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Request {requestId} is not in the ledger; nothing changed."),
    };
}
