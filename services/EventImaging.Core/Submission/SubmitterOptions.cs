namespace EventImaging.Core.Submission;

/// <summary>Configuration section <c>Submitter</c>.</summary>
public sealed class SubmitterOptions
{
    public const string Section = "Submitter";

    /// <summary>How many <c>GenerateImage</c> commands one replica submits at once.</summary>
    public int ConcurrentSubmissions { get; set; } = 32;

    /// <summary>Redeliveries of a command after a transient provider failure (429, 5xx, refused connection).</summary>
    public TimeSpan[] TransientRetryIntervals { get; set; } =
        [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30)];

    /// <summary>How long a replica holds a request while it submits it; after that another may take over.</summary>
    public TimeSpan SubmitLease { get; set; } = TimeSpan.FromMinutes(2);
}
