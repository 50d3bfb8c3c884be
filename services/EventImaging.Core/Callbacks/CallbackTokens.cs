using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Callbacks;

/// <summary>
/// The secret in each callback URL. Neither provider signs callbacks, so this token is the proof of origin:
/// a DataProtection payload naming the request and provider, authenticated and encrypted with the key ring
/// every replica shares, and expiring after the request's deadline.
/// </summary>
public sealed class CallbackTokens(IDataProtectionProvider dataProtection, IOptions<CallbackOptions> options)
{
    private const string Purpose = "EventImaging.Callbacks.Token.v1";

    private readonly ITimeLimitedDataProtector protector = dataProtection.CreateProtector(Purpose).ToTimeLimitedDataProtector();

    public string Mint(Guid requestId, string provider, DateTimeOffset deadline) =>
        protector.Protect($"{provider}|{requestId:N}", deadline > DateTimeOffset.MaxValue - options.Value.TokenGrace ? DateTimeOffset.MaxValue : deadline + options.Value.TokenGrace);

    /// <summary>
    /// The request a token names, or null for anything forged, altered, expired or for another provider. Throws when the
    /// key ring cannot be read (the ledger database is unreachable; see <see cref="Ledger.LedgerFaults"/>): then nothing
    /// can be said of the token yet.
    /// </summary>
    public Guid? Read(string token, string provider)
    {
        string payload;
        try
        {
            payload = protector.Unprotect(token, out _);
        }
        catch (CryptographicException ex) when (!Ledger.LedgerFaults.IsUnavailable(ex))
        {
            return null;
        }
        catch (FormatException)
        {
            return null;
        }

        var separator = payload.IndexOf('|', StringComparison.Ordinal);
        if (separator < 0 || !string.Equals(payload[..separator], provider, StringComparison.Ordinal))
        {
            return null;
        }

        return Guid.TryParseExact(payload[(separator + 1)..], "N", out var requestId) ? requestId : null;
    }

    /// <summary>The URL a provider calls back for this request; null in polling-only mode.</summary>
    public Uri? CallbackUrlFor(Guid requestId, string provider, DateTimeOffset deadline)
    {
        if (options.Value.PublicBaseUrl is not { } baseUrl)
        {
            return null;
        }

        var root = baseUrl.AbsoluteUri.TrimEnd('/');
        return new Uri($"{root}/callbacks/{provider}/{Mint(requestId, provider, deadline)}");
    }
}
