namespace EventImaging.Core.DeadLetters;

/// <summary>
/// One message of an error queue as operators see it: never the whole body, only a bounded preview.
/// </summary>
/// <param name="Id">The AMQP <c>message-id</c>, or <c>sha256-…</c> of the body when the publisher set none.</param>
/// <param name="Fault">What MassTransit recorded when it moved the message, or null when it recorded nothing.</param>
/// <param name="BodyPreview">The first characters of the body as UTF-8 (invalid bytes replaced).</param>
/// <param name="PreviewTruncated">True when the body is longer than the preview.</param>
public sealed record DeadLetter(
    string Id,
    DeadLetterFault? Fault,
    string? ContentType,
    int BodyBytes,
    string BodyPreview,
    bool PreviewTruncated,
    DateTimeOffset? SentAt);

/// <summary>MassTransit's fault headers (<c>MT-Reason</c>, <c>MT-Fault-*</c>), without the stack trace.</summary>
public sealed record DeadLetterFault(
    string? Reason,
    string? ExceptionType,
    string? Message,
    string? Timestamp,
    string? MessageType,
    string? ConsumerType);
