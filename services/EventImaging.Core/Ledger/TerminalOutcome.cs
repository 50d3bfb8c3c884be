using System.Text.Json;
using EventImaging.Contracts;

namespace EventImaging.Core.Ledger;

/// <summary>What a terminal transition writes: the new state, the result or error, and the event payload.</summary>
public sealed record TerminalOutcome(
    RequestState State,
    string EventType,
    string EventJson,
    string? ResultUrlsJson,
    string? ErrorCode,
    string? ErrorMessage)
{
    public static TerminalOutcome Of(ImageCompleted completed) => new(
        RequestState.Completed,
        nameof(ImageCompleted),
        JsonSerializer.Serialize(completed, Messaging.EventJson.Options),
        JsonSerializer.Serialize(completed.ImageUrls, Messaging.EventJson.Options),
        null,
        null);

    public static TerminalOutcome Of(ImageFailed failed) => new(
        RequestState.Failed,
        nameof(ImageFailed),
        JsonSerializer.Serialize(failed, Messaging.EventJson.Options),
        null,
        failed.Code,
        failed.Message);
}
