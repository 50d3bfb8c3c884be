using System.Collections;
using System.Runtime.CompilerServices;
using EventImaging.Core.Ledger;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Telemetry;

/// <summary>
/// The log scope of work on one request: every line written inside it carries <c>RequestId</c>, and when known
/// <c>Provider</c> and <c>ProviderTaskId</c>, as structured fields (JSON console, OTLP log attributes).
/// </summary>
public sealed class RequestLogScope(Guid requestId, string? provider, string? providerTaskId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] fields =
    [
        .. new KeyValuePair<string, object?>[] { new("RequestId", requestId) },
        .. provider is null ? [] : new KeyValuePair<string, object?>[] { new("Provider", provider) },
        .. providerTaskId is null ? [] : new KeyValuePair<string, object?>[] { new("ProviderTaskId", providerTaskId) },
    ];

    private string? text;

    public int Count => fields.Length;

    public KeyValuePair<string, object?> this[int index] => fields[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // The JSON console formatter asks for this once per line written in the scope: formatted once, in one string.
    public override string ToString() => text ??= Format();

    private string Format()
    {
        var handler = new DefaultInterpolatedStringHandler(fields.Length * 2, fields.Length * 2);
        for (var i = 0; i < fields.Length; i++)
        {
            handler.AppendLiteral(i == 0 ? "" : " ");
            handler.AppendLiteral(fields[i].Key);
            handler.AppendLiteral(":");
            handler.AppendFormatted(fields[i].Value);
        }

        return handler.ToStringAndClear();
    }
}

public static class RequestLogScopeExtensions
{
    public static IDisposable? BeginRequestScope(this ILogger logger, Guid requestId, string? provider = null, string? providerTaskId = null) =>
        logger.BeginScope(new RequestLogScope(requestId, provider, providerTaskId));

    public static IDisposable? BeginRequestScope(this ILogger logger, ImageRequest row) =>
        logger.BeginRequestScope(row.RequestId, row.Provider, row.ProviderTaskId);
}
