using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;

namespace EventImaging.Core.Archiving;

/// <summary>
/// How an archiving request ends. The provider's outcome is already in its row (the provisional <c>ImageCompleted</c>
/// written with the transition to archiving); the copy only decides which URLs the event carries.
/// </summary>
public static class ArchiveOutcomes
{
    /// <summary>
    /// The <c>ImageCompleted</c> the provider's outcome gave, as the archiving row holds it; should the stored event not
    /// read (a row written by another version), one rebuilt from the row's own columns, so the request still ends.
    /// </summary>
    public static ImageCompleted Known(ImageRequest row)
    {
        try
        {
            if (row.EventJson is { } json && JsonSerializer.Deserialize<ImageCompleted>(json, EventJson.Options) is { } known)
            {
                return known;
            }
        }
        catch (JsonException)
        {
        }

        return new ImageCompleted
        {
            RequestId = row.RequestId,
            Provider = row.Provider,
            Model = row.Model,
            ProviderTaskId = row.ProviderTaskId ?? "",
            ImageUrls = row.ResultUrlsJson is null ? [] : JsonSerializer.Deserialize<string[]>(row.ResultUrlsJson, EventJson.Options) ?? [],
            UrlsExpireAt = row.UpdatedAt,
            CompletedVia = CompletionPaths.Poll,
            CompletedAt = row.UpdatedAt,
        };
    }

    /// <summary>Every image copied: the event carries the stored copies.</summary>
    public static TerminalOutcome Copied(ImageRequest row, IReadOnlyList<StoredImage> images, DateTimeOffset? expiresAt) =>
        TerminalOutcome.Archived(Known(row) with
        {
            ImageUrls = [.. images.Select(i => i.Url)],
            UrlsExpireAt = expiresAt ?? DateTimeOffset.MaxValue,
            Archived = true,
            Images = [.. images],
        });

    /// <summary>
    /// The copy could not be made: the request completes with the provider's URLs and the reason (the image exists and was
    /// paid for), or, when archiving is <paramref name="required"/>, fails with <c>archive_failed</c>.
    /// </summary>
    public static TerminalOutcome NotCopied(ImageRequest row, string reason, bool required, DateTimeOffset now) =>
        required
            ? TerminalOutcome.ArchiveFailed(row, Known(row), reason, now)
            : TerminalOutcome.Archived(Known(row) with { Archived = false, ArchiveError = reason });
}
