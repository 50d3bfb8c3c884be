namespace EventImaging.Contracts;

/// <summary>The values <see cref="ImageCompleted.CompletedVia"/> takes.</summary>
public static class CompletionPaths
{
    public const string Callback = "callback";
    public const string Poll = "poll";
}
