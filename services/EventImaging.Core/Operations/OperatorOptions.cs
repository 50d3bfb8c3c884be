namespace EventImaging.Core.Operations;

/// <summary>Configuration section <c>Operator</c>.</summary>
public sealed class OperatorOptions
{
    public const string Section = "Operator";

    /// <summary>
    /// The key operators present as <c>Authorization: Bearer …</c> to look requests up. Unset: the lookup is off
    /// and its route does not exist.
    /// </summary>
    public string? ApiKey { get; set; }
}
