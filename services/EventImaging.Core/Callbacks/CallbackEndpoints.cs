using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using System.Threading.RateLimiting;

namespace EventImaging.Core.Callbacks;

public static class CallbackEndpoints
{
    public const string RoutePattern = "/callbacks/{provider}/{token}";
    private const string RateLimitPolicy = "callbacks";

    /// <summary>What a callback turned away by <see cref="CallbackAdmission"/> is told; the providers retry on their own schedule (1, 2, 4 s).</summary>
    private const string RetryAfterSeconds = "1";

    /// <summary>The webhook receiver role: verifies provider callbacks and publishes the outcome.</summary>
    public static IHostApplicationBuilder AddWebhookReceiver(this IHostApplicationBuilder builder)
    {
        builder.AddCallbackTokens();
        builder.Services.AddScoped<CallbackHandler>();
        builder.Services.AddSingleton<CallbackAdmission>();
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(RateLimitPolicy, context =>
            {
                var perSecond = context.RequestServices.GetRequiredService<IOptions<CallbackOptions>>().Value.RateLimitPerSource;
                return perSecond <= 0
                    ? RateLimitPartition.GetNoLimiter("unlimited")
                    : RateLimitPartition.GetTokenBucketLimiter(
                        context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                        _ => new TokenBucketRateLimiterOptions
                        {
                            TokenLimit = 2 * perSecond,
                            TokensPerPeriod = perSecond,
                            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                            QueueLimit = 0,
                        });
            });
        });
        return builder;
    }

    /// <summary><c>POST /callbacks/{provider}/{token}</c>.</summary>
    public static IEndpointRouteBuilder MapCallbacks(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints is IApplicationBuilder app)
        {
            app.UseRateLimiter();
        }

        endpoints.MapPost(RoutePattern, HandleAsync)
            .RequireRateLimiting(RateLimitPolicy)
            .DisableAntiforgery()
            .WithName("ProviderCallback");
        return endpoints;
    }

    private static async Task<IResult> HandleAsync(
        string provider,
        string token,
        HttpContext context,
        CallbackAdmission admission,
        IOptions<CallbackOptions> options,
        CancellationToken cancellationToken)
    {
        if (!admission.TryEnter())
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds;
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            // Resolved once admitted: a callback turned away costs no handler.
            var handler = context.RequestServices.GetRequiredService<CallbackHandler>();
            return await HandleAdmittedAsync(provider, token, context, handler, options.Value.MaxBodyBytes, cancellationToken);
        }
        finally
        {
            admission.Leave();
        }
    }

    private static async Task<IResult> HandleAdmittedAsync(
        string provider,
        string token,
        HttpContext context,
        CallbackHandler handler,
        int maxBodyBytes,
        CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = maxBodyBytes;
        }

        if (context.Request.ContentLength > maxBodyBytes)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, cancellationToken);
            if (buffer.Length > maxBodyBytes)
            {
                return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
            }

            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        return await handler.HandleAsync(provider, token, body, cancellationToken) switch
        {
            CallbackResult.Accepted => Results.Ok(),
            CallbackResult.Unreadable => Results.BadRequest(),
            CallbackResult.Unavailable => Results.StatusCode(StatusCodes.Status503ServiceUnavailable),
            _ => Results.NotFound(),
        };
    }
}
