namespace EventImaging.Core.Callbacks;

/// <summary>Configuration section <c>Callbacks</c>.</summary>
public sealed class CallbackOptions
{
    public const string Section = "Callbacks";

    /// <summary>
    /// The public base URL providers call back, e.g. <c>https://images.example.com</c>. Null means
    /// polling-only mode: requests are sent without a callback URL.
    /// </summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>Development only: allow an http or private-network callback base URL (the Host's in-process simulator).</summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>The largest callback body accepted; larger ones get 413.</summary>
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Callbacks accepted per second from one source address, with bursts of twice as many; more get 429 (the
    /// providers retry). 0 turns the limit off. Behind a proxy every callback has the proxy's address: size it for
    /// the whole callback rate there, or let the proxy limit.
    /// </summary>
    public int RateLimitPerSource { get; set; } = 1000;

    /// <summary>
    /// Callbacks one receiver works on at once; more are answered 503 with Retry-After at once (the providers retry,
    /// the poller covers the rest), which bounds what the receiver holds when it is offered more than it can apply.
    /// Unset, it follows the memory the GC heap may use (<see cref="InFlightBound"/>): 2,048 on a machine or in a
    /// container of about 1.3 GiB or more, far above the concurrency at which a receiver reaches its highest rate; 256
    /// in a 160 MiB container. 0 turns the bound off (docs/performance.md has the measurements).
    /// </summary>
    public int? MaxInFlight { get; set; }

    /// <summary>
    /// The proxies (addresses or CIDR ranges, such as the ingress controller's pod network) whose <c>X-Forwarded-For</c>
    /// names the real sender: the per-source rate limit then counts each provider address on its own, instead of every
    /// callback in the proxy's one bucket. Empty: only the connection's own address counts (loopback proxies aside).
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>One entry of <see cref="TrustedProxies"/> as a network; a bare address is a network of one.</summary>
    public static bool TryParseProxy(string value, out System.Net.IPNetwork network) =>
        System.Net.IPNetwork.TryParse(
            value.Contains('/', StringComparison.Ordinal) ? value : $"{value}/{(value.Contains(':', StringComparison.Ordinal) ? 128 : 32)}",
            out network);

    /// <summary>How long after the request's deadline its callback token is still accepted.</summary>
    public TimeSpan TokenGrace { get; set; } = TimeSpan.FromHours(1);
}
