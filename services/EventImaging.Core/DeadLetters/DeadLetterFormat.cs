using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MassTransit;
using RabbitMQ.Client;

namespace EventImaging.Core.DeadLetters;

/// <summary>
/// How an error queue's message is named, shown and sent back: pure functions over its properties and body.
/// </summary>
public static class DeadLetterFormat
{
    /// <summary>Characters of a body shown to operators; the whole body may be large and is never logged.</summary>
    public const int PreviewChars = 512;

    /// <summary>The prefix of an id derived from the body, for messages published without a <c>message-id</c>.</summary>
    public const string BodyIdPrefix = "sha256-";

    /// <summary>The transport header in which MassTransit may carry a content type besides the AMQP property.</summary>
    public const string ContentTypeHeader = "Content-Type";

    /// <summary>The replayed content type of a body an operator replaced (a fixed command is plain JSON).</summary>
    public const string ReplacementContentType = "application/json";

    /// <summary>
    /// The message's <c>message-id</c>, or, when the publisher set none (a raw JSON publisher often does not), the
    /// SHA-256 of its body: stable across listings, so an operator can address what a listing showed.
    /// Identical bodies share an id; replaying one of them replays the first.
    /// </summary>
    public static string IdOf(string? messageId, ReadOnlySpan<byte> body) =>
        string.IsNullOrWhiteSpace(messageId)
            ? BodyIdPrefix + Convert.ToHexStringLower(SHA256.HashData(body))
            : messageId;

    /// <summary>
    /// True for the headers MassTransit adds when it moves a message to an error queue: the fault (<c>MT-Reason</c>,
    /// <c>MT-Fault-*</c>) and the host that moved it (<c>MT-Host-*</c>). A replayed message goes without them, as if sent anew.
    /// </summary>
    public static bool IsFaultHeader(string name) =>
        name.Equals(MessageHeaders.Reason, StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("MT-Fault-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("MT-Host-", StringComparison.OrdinalIgnoreCase);

    /// <summary>The headers without MassTransit's fault and host headers; null when none is left.</summary>
    public static Dictionary<string, object?>? WithoutFaultHeaders(IDictionary<string, object?>? headers)
    {
        if (headers is null)
        {
            return null;
        }

        var kept = headers.Where(h => !IsFaultHeader(h.Key)).ToDictionary(h => h.Key, h => h.Value, StringComparer.Ordinal);
        return kept.Count == 0 ? null : kept;
    }

    /// <summary>What MassTransit recorded about the fault, or null when the message carries none of its headers.</summary>
    public static DeadLetterFault? FaultOf(IDictionary<string, object?>? headers)
    {
        if (headers is null)
        {
            return null;
        }

        var fault = new DeadLetterFault(
            Text(headers, MessageHeaders.Reason),
            Text(headers, MessageHeaders.FaultExceptionType),
            Text(headers, MessageHeaders.FaultMessage),
            Text(headers, MessageHeaders.FaultTimestamp),
            Text(headers, MessageHeaders.FaultMessageType),
            Text(headers, MessageHeaders.FaultConsumerType));
        return fault == new DeadLetterFault(null, null, null, null, null, null) ? null : fault;
    }

    /// <summary>
    /// An AMQP header value as text: strings arrive as UTF-8 bytes, timestamps as <see cref="AmqpTimestamp"/>,
    /// lists as lists of those.
    /// </summary>
    public static string? HeaderText(object? value) => value switch
    {
        null => null,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        AmqpTimestamp timestamp => DateTimeOffset.FromUnixTimeSeconds(timestamp.UnixTime).ToString("O", CultureInfo.InvariantCulture),
        IEnumerable<object?> items => string.Join(", ", items.Select(HeaderText)),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>
    /// The first <paramref name="maxChars"/> characters of the body as UTF-8, invalid bytes replaced by U+FFFD, and
    /// whether the body went on. Only a bounded prefix is decoded, and a surrogate pair is never cut in half.
    /// </summary>
    public static (string Preview, bool Truncated) Preview(ReadOnlySpan<byte> body, int maxChars = PreviewChars)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChars);

        // A UTF-8 character takes at most 4 bytes, so this prefix holds at least maxChars characters when the body is longer.
        var prefix = body[..Math.Min(body.Length, (maxChars + 1) * 4)];
        var text = Encoding.UTF8.GetString(prefix);
        if (text.Length <= maxChars && prefix.Length == body.Length)
        {
            return (text, false);
        }

        var cut = Math.Min(maxChars, text.Length);
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return (text[..cut], true);
    }

    /// <summary>
    /// The properties a message is replayed with: its own (message id, correlation id, delivery mode, content type…)
    /// minus MassTransit's fault headers; with <paramref name="replaced"/>, the content type of a plain JSON command.
    /// </summary>
    public static BasicProperties ForReplay(IReadOnlyBasicProperties original, bool replaced)
    {
        var properties = new BasicProperties(original) { Headers = WithoutFaultHeaders(original.Headers) };
        if (replaced)
        {
            properties.ContentType = ReplacementContentType;
            properties.ContentEncoding = null;

            // A transport header naming the old content type (MassTransit may write one) must not contradict the new body.
            if (properties.Headers is { } headers)
            {
                foreach (var name in headers.Keys.Where(k => k.Equals(ContentTypeHeader, StringComparison.OrdinalIgnoreCase)).ToList())
                {
                    headers.Remove(name);
                }

                properties.Headers = headers.Count == 0 ? null : headers;
            }
        }

        return properties;
    }

    /// <summary>How a message of an error queue is shown to operators.</summary>
    public static DeadLetter Describe(IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body)
    {
        var (preview, truncated) = Preview(body);
        return new DeadLetter(
            IdOf(properties.MessageId, body),
            FaultOf(properties.Headers),
            properties.ContentType,
            body.Length,
            preview,
            truncated,
            properties.IsTimestampPresent() && properties.Timestamp.UnixTime > 0
                ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime)
                : null);
    }

    private static string? Text(IDictionary<string, object?> headers, string name) =>
        headers.TryGetValue(name, out var value) ? HeaderText(value) : null;
}
