using EventImaging.Core.Ledger;
using EventImaging.Core.Providers;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Callbacks;

/// <summary>A callback's token, checked before anything else is spent on it: the request it names, or why there is none.</summary>
public readonly record struct CallbackCaller(CallbackResult Result, IImageProvider? Client, Guid RequestId)
{
    public bool IsGenuine => Result == CallbackResult.Accepted;
}

/// <summary>
/// The first check of every callback, from its URL alone: is the provider known and the token genuine? It runs before
/// the callback takes an in-flight slot or has its body read, so senders of made-up tokens cannot crowd out real
/// callbacks. A token cannot be judged while the key ring cannot be read from the ledger database (a receiver that
/// started during an outage): that is 503, never 404, which the providers would not retry.
/// </summary>
public sealed partial class CallbackGate(ProviderRegistry providers, CallbackTokens tokens, ILogger<CallbackGate> logger)
{
    public CallbackCaller Check(string provider, string token)
    {
        if (providers.Find(provider) is not { } client)
        {
            LogRejectedToken();
            return new(CallbackResult.NotFound, null, Guid.Empty);
        }

        Guid? requestId;
        try
        {
            requestId = tokens.Read(token, client.Name);
        }
        catch (Exception ex) when (LedgerFaults.IsUnavailable(ex))
        {
            LogKeyRingUnavailable(ex, client.Name);
            return new(CallbackResult.Unavailable, client, Guid.Empty);
        }

        if (requestId is not { } id)
        {
            LogRejectedToken();
            return new(CallbackResult.NotFound, client, Guid.Empty);
        }

        return new(CallbackResult.Accepted, client, id);
    }

    // Neither the provider segment nor the token is logged: both come from the caller, and the token is a secret.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Callback rejected: the token is not valid, or names an unknown provider")]
    private partial void LogRejectedToken();

    [LoggerMessage(Level = LogLevel.Error, Message = "Callback for {Provider} cannot be checked: the key ring cannot be read from the ledger; answering 503")]
    private partial void LogKeyRingUnavailable(Exception exception, string provider);
}
