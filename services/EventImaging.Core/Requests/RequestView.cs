using System.Text.Json;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;

namespace EventImaging.Core.Requests;

/// <summary>One request as its readers see it: the Host's <c>GET /v1/images/{requestId}</c>, and the operator lookup.</summary>
public sealed record RequestView(
    Guid RequestId,
    string State,
    string Provider,
    string Model,
    string? ProviderTaskId,
    int Progress,
    string[]? ImageUrls,
    RequestError? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SubmittedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset Deadline)
{
    public static RequestView Of(ImageRequest row) => new(
        row.RequestId,
        row.State.ToString().ToLowerInvariant(),
        row.Provider,
        row.Model,
        row.ProviderTaskId,
        row.Progress,
        row.ResultUrlsJson is null ? null : JsonSerializer.Deserialize<string[]>(row.ResultUrlsJson, EventJson.Options),
        row.ErrorCode is null ? null : new RequestError(row.ErrorCode, row.ErrorMessage),
        row.CreatedAt,
        row.SubmittedAt,
        row.FinishedAt,
        row.Deadline);
}

public sealed record RequestError(string Code, string? Message);
