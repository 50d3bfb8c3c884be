namespace EventImaging.Core.Submission;

/// <summary>Configuration section <c>Submitter</c>.</summary>
public sealed class SubmitterOptions
{
    public const string Section = "Submitter";

    /// <summary>How many <c>GenerateImage</c> commands one replica submits at once.</summary>
    public int ConcurrentSubmissions { get; set; } = 32;

    /// <summary>The wait before re-sending a create that failed transiently (429, 5xx, refused); it doubles per attempt.</summary>
    public TimeSpan RetryInitialInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between create attempts (a provider's <c>Retry-After</c> may ask for longer).</summary>
    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// After a create call whose outcome is unknown (sent, never answered), how long to wait for the provider's
    /// callback before sending it once more.
    /// </summary>
    public TimeSpan UnknownOutcomeWait { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a replica holds a request while it submits it; after that another may take over.</summary>
    public TimeSpan SubmitLease { get; set; } = TimeSpan.FromMinutes(2);
}
