using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Providers;

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
    /// <summary>The event itself (<see cref="ImageCompleted"/> or <see cref="ImageFailed"/>), as <see cref="EventJson"/> holds it.</summary>
    public required object Event { get; init; }

    public static TerminalOutcome Of(ImageCompleted completed) => new(
        RequestState.Completed,
        nameof(ImageCompleted),
        JsonSerializer.Serialize(completed, Messaging.EventJson.Options),
        JsonSerializer.Serialize(completed.ImageUrls, Messaging.EventJson.Options),
        null,
        null)
    {
        Event = completed,
    };

    public static TerminalOutcome Of(ImageFailed failed) => new(
        RequestState.Failed,
        nameof(ImageFailed),
        JsonSerializer.Serialize(failed, Messaging.EventJson.Options),
        null,
        failed.Code,
        failed.Message)
    {
        Event = failed,
    };

    /// <summary>The outcome a finished provider task gives the request, learnt through <paramref name="completedVia"/>.</summary>
    public static TerminalOutcome ForTask(ImageRequest row, ProviderTask task, TimeSpan resultUrlLifetime, string completedVia, DateTimeOffset now)
    {
        if (task.Status != ProviderTaskStatus.Completed)
        {
            var failure = task.Failure ?? new ProviderFailure(FailureCodes.ProviderError, null, "The provider reported the task as failed.", true);
            return Failed(row, failure, task.TaskId, now, task.Credits);
        }

        return Of(new ImageCompleted
        {
            RequestId = row.RequestId,
            Provider = row.Provider,
            Model = row.Model,
            Metadata = MetadataOf(row),
            ProviderTaskId = task.TaskId,
            ImageUrls = [.. task.ResultUrls ?? []],
            UrlsExpireAt = now + resultUrlLifetime,
            CompletedVia = completedVia,
            CompletedAt = now,
            CreditsUsed = task.Credits,
        });
    }

    public static TerminalOutcome Failed(ImageRequest row, ProviderFailure failure, string? taskId, DateTimeOffset now, double? credits = null) =>
        Of(new ImageFailed
        {
            RequestId = row.RequestId,
            Provider = row.Provider,
            Model = row.Model,
            Metadata = MetadataOf(row),
            ProviderTaskId = taskId,
            Code = failure.Code,
            ProviderCode = failure.ProviderCode,
            Message = failure.Message,
            Retryable = failure.Retryable,
            FailedAt = now,
            CreditsUsed = credits,
        });

    // Only the metadata is read back from the stored command: the prompt and the rest are skipped, not materialised.
    private static IReadOnlyDictionary<string, string>? MetadataOf(ImageRequest row) =>
        JsonSerializer.Deserialize<CommandMetadata>(row.CommandJson, Messaging.EventJson.Options)?.Metadata;

    private sealed record CommandMetadata(IReadOnlyDictionary<string, string>? Metadata);
}
