using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using System.Threading.RateLimiting;
using EventImaging.Core.Archiving;
using EventImaging.Core.Scheduling;

namespace EventImaging.Core.Callbacks;

public static class CallbackEndpoints
{
    public const string RoutePattern = "/callbacks/{provider}/{token}";
    private const string RateLimitPolicy = "callbacks";

    /// <summary>What a callback answered 503 is told; the providers retry on their own schedule (1, 2, 4 s).</summary>
    private const string RetryAfterSeconds = "1";

    /// <summary>The webhook receiver role: verifies provider callbacks and publishes the outcome.</summary>
    public static IHostApplicationBuilder AddWebhookReceiver(this IHostApplicationBuilder builder)
    {
        builder.AddCallbackTokens();
        builder.AddDueRows();
        builder.AddArchiveSettings();
        builder.Services.AddSingleton<CallbackGate>();
        builder.Services.AddSingleton<CallbackHandler>();
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<CallbackOptions>>((forwarded, callbacks) =>
        {
            // Behind the ingress every callback comes from the proxy: only the proxies named here may say who sent it.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            if (callbacks.Value.TrustedProxies.Length > 0)
            {
                // The named proxies replace the default (loopback), so nothing else on the host can speak for a sender.
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
            }

            foreach (var proxy in callbacks.Value.TrustedProxies)
            {
                if (CallbackOptions.TryParseProxy(proxy, out var network))
                {
                    forwarded.KnownIPNetworks.Add(network);
                }
            }
        });
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
                        SourceOf(context.Connection.RemoteIpAddress),
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
            app.UseForwardedHeaders();
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
        CallbackGate gate,
        CallbackAdmission admission,
        IOptions<CallbackOptions> options,
        CancellationToken cancellationToken)
    {
        // The token is in the URL: judged before the callback takes a slot or a byte of its body is read.
        var caller = gate.Check(provider, token);
        if (!caller.IsGenuine)
        {
            return Answer(caller.Result, context);
        }

        if (!admission.TryEnter())
        {
            return Answer(CallbackResult.Unavailable, context);
        }

        try
        {
            // Resolved once admitted: a callback turned away costs no handler.
            var handler = context.RequestServices.GetRequiredService<CallbackHandler>();
            return await HandleAdmittedAsync(caller, context, handler, options.Value.MaxBodyBytes, cancellationToken);
        }
        finally
        {
            admission.Leave();
        }
    }

    private static IResult Answer(CallbackResult result, HttpContext context)
    {
        switch (result)
        {
            case CallbackResult.Accepted:
                return Results.Ok();
            case CallbackResult.Unreadable:
                return Results.BadRequest();
            case CallbackResult.Unavailable:
                // Turned away (the in-flight bound) or undecidable (the ledger): the providers retry 1, 2 and 4 s later.
                context.Response.Headers.RetryAfter = RetryAfterSeconds;
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            default:
                return Results.NotFound();
        }
    }

    private static async Task<IResult> HandleAdmittedAsync(
        CallbackCaller caller,
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

        return Answer(await handler.HandleAsync(caller.Client!, caller.RequestId, body, cancellationToken), context);
    }

    /// <summary>
    /// The rate limiter's partition for a caller: its IPv4 address, or the /64 of its IPv6 address (one host's usual
    /// allocation, so rotating through its own addresses does not buy a fresh bucket each time).
    /// </summary>
    public static string SourceOf(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return $"{new IPAddress(bytes)}/64";
    }
}
