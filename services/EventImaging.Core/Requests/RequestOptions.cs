namespace EventImaging.Core.Requests;

/// <summary>Configuration section <c>Requests</c>.</summary>
public sealed class RequestOptions
{
    public const string Section = "Requests";

    /// <summary>The deadline of a command that sets none, counted from its arrival.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromMinutes(30);
}
