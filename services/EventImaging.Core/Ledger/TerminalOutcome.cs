using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Providers;

namespace EventImaging.Core.Ledger;

/// <summary>
/// What an outcome transition writes: the new state (terminal, or <see cref="RequestState.Archiving"/> when the task
/// completed and its images are copied first), the result or error, and the event payload. <see cref="Sources"/> are
/// the states it may leave.
/// </summary>
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

    /// <summary>The states this transition may leave (<see cref="RequestTransitions"/>): by default, those before the outcome is known.</summary>
    public IReadOnlyList<RequestState> Sources { get; init; } = RequestTransitions.BeforeOutcome;

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
    /// <param name="archive">When true, a completed task leads to <see cref="RequestState.Archiving"/>: its event is written once the images are copied.</param>
    public static TerminalOutcome ForTask(ImageRequest row, ProviderTask task, TimeSpan resultUrlLifetime, string completedVia, DateTimeOffset now, bool archive = false)
    {
        if (task.Status != ProviderTaskStatus.Completed)
        {
            var failure = task.Failure ?? new ProviderFailure(FailureCodes.ProviderError, null, "The provider reported the task as failed.", true);
            return Failed(row, failure, task.TaskId, now, task.Credits);
        }

        var completed = new ImageCompleted
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
        };
        return archive && completed.ImageUrls.Length > 0 ? Of(completed) with { State = RequestState.Archiving } : Of(completed);
    }

    /// <summary>The end of archiving: the provider's outcome (<paramref name="known"/>, as the row holds it) with what the copy gave.</summary>
    public static TerminalOutcome Archived(ImageCompleted known) => Of(known) with { Sources = RequestTransitions.WhileArchiving };

    /// <summary>The end of archiving when the images could not be copied and archiving is required: <c>archive_failed</c>.</summary>
    public static TerminalOutcome ArchiveFailed(ImageRequest row, ImageCompleted known, string reason, DateTimeOffset now) =>
        Failed(row, new ProviderFailure(FailureCodes.ArchiveFailed, null, $"The images could not be copied: {reason}", true), known.ProviderTaskId, now, known.CreditsUsed)
            with { Sources = RequestTransitions.WhileArchiving };

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
