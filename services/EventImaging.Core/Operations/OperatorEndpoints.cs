using System.Security.Cryptography;
using System.Text;
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
/// <c>GET /operator/requests/{requestId}</c>: one request's state, timeline, task id and result or error, for
/// operators. It exists only when <c>Operator:ApiKey</c> is set, and answers 401 to any caller without that key;
/// deployments also keep it off the public ingress, which routes only <c>/callbacks</c>.
/// </summary>
public static partial class OperatorEndpoints
{
    public const string RoutePattern = "/operator/requests/{requestId:guid}";

    /// <summary>The operator API's settings (<c>Operator:ApiKey</c>); <see cref="MapOperatorApi"/> maps it when a key is set.</summary>
    public static IHostApplicationBuilder AddOperatorApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OperatorOptions>().BindConfiguration(OperatorOptions.Section).ValidateOnStart();
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

        var key = Encoding.UTF8.GetBytes(options.ApiKey);
        endpoints.MapGet(RoutePattern, async (Guid requestId, HttpRequest request, RequestRows ledger, CancellationToken cancellationToken) =>
        {
            if (!Presents(request, key))
            {
                request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                return Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Send the operator key as 'Authorization: Bearer <Operator:ApiKey>'.");
            }

            var row = await ledger.FindAsync(requestId, cancellationToken);
            return row is null
                ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Request {requestId} is not in the ledger.")
                : Results.Ok(RequestTimeline.Of(row));
        });
        return endpoints;
    }

    private static bool Presents(HttpRequest request, byte[] key)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), key);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The operator request lookup is off: set Operator:ApiKey to enable GET /operator/requests/<requestId>")]
    private static partial void LogOff(ILogger logger);
}
