using System.Security.Cryptography;
using System.Text;
using EventImaging.Core.Cancellation;
using EventImaging.Core.DeadLetters;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Operations;

/// <summary>
/// The operator API under <c>/operator</c>: looking a request up (<c>GET /operator/requests/{requestId}</c>) and what
/// operators can do about it. It exists only when <c>Operator:ApiKey</c> is set, and answers 401 to any caller without
/// that key; deployments also keep it off the public ingress, which routes only <c>/callbacks</c>.
/// </summary>
public static partial class OperatorEndpoints
{
    /// <summary>
    /// The operator API's settings (<c>Operator:ApiKey</c>), and the error queues it acts on when the service runs on RabbitMQ;
    /// <see cref="MapOperatorApi"/> maps it when a key is set.
    /// </summary>
    public static IHostApplicationBuilder AddOperatorApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OperatorOptions>().BindConfiguration(OperatorOptions.Section).ValidateOnStart();
        builder.AddRequestCanceller();
        builder.AddDeadLetters();
        return builder;
    }

    public static IEndpointRouteBuilder MapOperatorApi(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<OperatorOptions>>().Value;
        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OperatorEndpoints));
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            LogOff(logger);
            return endpoints;
        }

        var operators = endpoints.MapGroup("/operator").AddEndpointFilter(new OperatorKeyFilter(Encoding.UTF8.GetBytes(options.ApiKey)));
        operators.MapGet("/requests/{requestId:guid}", async (Guid requestId, RequestRows ledger, HistoryRows history, CancellationToken cancellationToken) =>
        {
            var row = await ledger.FindAsync(requestId, cancellationToken);
            return row is null
                ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Request {requestId} is not in the ledger.")
                : Results.Ok(RequestTimeline.Of(row, await history.ForRequestAsync(requestId, cancellationToken)));
        });
        operators.MapPost("/requests/{requestId:guid}/cancel", async (Guid requestId, CancelBody? body, RequestCanceller canceller, CancellationToken cancellationToken) =>
            (await canceller.CancelAsync(requestId, body?.Reason, By, cancellationToken)).ToHttpResult(requestId));
        operators.MapDeadLetters();
        return endpoints;
    }

    /// <summary>Who cancels through this API, as the <c>ImageFailed</c> message says.</summary>
    public const string By = "an operator";

    /// <summary>The optional body of a cancel: why.</summary>
    public sealed record CancelBody(string? Reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The operator API is off: set Operator:ApiKey to enable it under /operator")]
    private static partial void LogOff(ILogger logger);

    /// <summary>Lets through only callers presenting the operator key as <c>Authorization: Bearer …</c> (compared in fixed time).</summary>
    private sealed class OperatorKeyFilter(byte[] key) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var request = context.HttpContext.Request;
            if (!Presents(request))
            {
                context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                return Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Send the operator key as 'Authorization: Bearer <Operator:ApiKey>'.");
            }

            return await next(context);
        }

        private bool Presents(HttpRequest request)
        {
            var header = request.Headers.Authorization.ToString();
            const string scheme = "Bearer ";
            return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
                && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), key);
        }
    }
}
