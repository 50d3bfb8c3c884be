using EventImaging.Core.Configuration;
using EventImaging.Core.Requests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Callbacks;

public static class CallbackTokenExtensions
{
    /// <summary>Callback settings and tokens, shared by the submitter (mints) and the receiver (reads).</summary>
    public static IHostApplicationBuilder AddCallbackTokens(this IHostApplicationBuilder builder)
    {
        if (!builder.FirstTime(nameof(CallbackTokens)))
        {
            return builder;
        }

        builder.Services.AddOptions<CallbackOptions>().BindConfiguration(CallbackOptions.Section)
            .Validate(
                o => o.PublicBaseUrl is null || PublicUrlRules.Check(o.PublicBaseUrl.OriginalString, o.AllowInsecureHttp) is null,
                "Callbacks:PublicBaseUrl must be an absolute https URL on a public host (set Callbacks:AllowInsecureHttp=true only for local development).")
            .Validate(o => o.MaxBodyBytes is >= 1024 and <= 10 * 1024 * 1024, "Callbacks:MaxBodyBytes must be between 1 KiB and 10 MiB.")
            .Validate(o => o.RateLimitPerSource >= 0, "Callbacks:RateLimitPerSource must be 0 (no limit) or a positive number of callbacks per second.")
            .Validate(o => o.MaxInFlight is null or >= 0, "Callbacks:MaxInFlight must be unset (sized from the memory limit), 0 (no bound) or a positive number of callbacks.")
            .Validate(o => o.TrustedProxies.All(p => CallbackOptions.TryParseProxy(p, out _)), "Callbacks:TrustedProxies must hold IP addresses or CIDR ranges such as 10.0.0.0/8.")
            .ValidateOnStart();
        builder.Services.AddSingleton<CallbackTokens>();
        return builder;
    }
}
