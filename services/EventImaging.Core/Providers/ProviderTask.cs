namespace EventImaging.Core.Providers;

public enum ProviderTaskStatus
{
    /// <summary>Pending, processing, or any status the client does not know: still running until the deadline.</summary>
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>A provider's task as EventImaging understands it, whatever shape the provider sent.</summary>
public sealed record ProviderTask(
    string TaskId,
    ProviderTaskStatus Status,
    int? Progress = null,
    IReadOnlyList<string>? ResultUrls = null,
    ProviderFailure? Failure = null,
    int? EstimatedSeconds = null,
    double? Credits = null)
{
    public bool IsTerminal => Status is not ProviderTaskStatus.Running;
}

/// <summary>Why a task or a call failed, in our stable codes and the provider's own.</summary>
public sealed record ProviderFailure(string Code, string? ProviderCode, string Message, bool Retryable);
