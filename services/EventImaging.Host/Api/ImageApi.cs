using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Cancellation;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Requests;
using MassTransit;

namespace EventImaging.Host.Api;

/// <summary>A small HTTP API to try EventImaging: publish a command, then read the request's state.</summary>
public static class ImageApi
{
    public static IEndpointRouteBuilder MapImageApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/images", SubmitAsync);
        endpoints.MapGet("/v1/images/{requestId:guid}", GetAsync);
        endpoints.MapDelete("/v1/images/{requestId:guid}", CancelAsync);
        return endpoints;
    }

    /// <summary>Publishes the body as <c>GenerateImage</c> (a missing <c>requestId</c> gets a new one) and answers 202.</summary>
    private static async Task<IResult> SubmitAsync(HttpRequest request, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        GenerateImage? command;
        try
        {
            command = await JsonSerializer.DeserializeAsync<GenerateImage>(request.Body, ContractJson.Relaxed, cancellationToken);
        }
        catch (JsonException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not a GenerateImage JSON object.", detail: ex.Message);
        }

        if (command is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is empty.");
        }

        if (command.RequestId == Guid.Empty)
        {
            command = command with { RequestId = Guid.NewGuid() };
        }

        await publisher.Publish(command, cancellationToken);
        return Results.Accepted($"/v1/images/{command.RequestId}", new { requestId = command.RequestId });
    }

    /// <summary>Cancels the request (<c>?reason=</c> optional): 200 cancelled, 409 already ended, 404 unknown.</summary>
    private static async Task<IResult> CancelAsync(Guid requestId, string? reason, RequestCanceller canceller, CancellationToken cancellationToken) =>
        (await canceller.CancelAsync(requestId, reason, CancelImageConsumer.By, cancellationToken)).ToHttpResult(requestId);

    private static async Task<IResult> GetAsync(Guid requestId, RequestRows ledger, CancellationToken cancellationToken)
    {
        var row = await ledger.FindAsync(requestId, cancellationToken);
        return row is null
            ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Request {requestId} is not in the ledger (yet): it is recorded when the submitter consumes the command.")
            : Results.Ok(RequestView.Of(row));
    }
}
