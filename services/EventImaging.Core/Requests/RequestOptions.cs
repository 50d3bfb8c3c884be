namespace EventImaging.Core.Requests;

/// <summary>Configuration section <c>Requests</c>.</summary>
public sealed class RequestOptions
{
    public const string Section = "Requests";

    /// <summary>The deadline of a command that sets none, counted from its arrival.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The latest deadline a command may set, counted from its arrival; a later one is refused at once. A day: the
    /// providers keep results (and evolink its result links) for 24 hours, so waiting longer cannot deliver an image.
    /// </summary>
    public TimeSpan MaxDeadline { get; set; } = TimeSpan.FromHours(24);
}
