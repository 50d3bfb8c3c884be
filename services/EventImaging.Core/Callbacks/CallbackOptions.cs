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
    /// the poller covers the rest), which bounds what the receiver holds when it is offered more than it can apply. The
    /// receiver reaches its highest rate at about 200 in flight; 2,048 is 0.4-0.7 s of its work on two cores, so a
    /// stall shorter than that turns nothing away. 0 turns the bound off.
    /// </summary>
    public int MaxInFlight { get; set; } = 2048;

    /// <summary>How long after the request's deadline its callback token is still accepted.</summary>
    public TimeSpan TokenGrace { get; set; } = TimeSpan.FromHours(1);
}
