namespace EventImaging.ProviderSimulator;

/// <summary>
/// Instance settings that are fixed for the life of the process (section <c>Simulator</c>).
/// Behaviour that tests flip at runtime lives in <see cref="SimulatorKnobs"/> instead.
/// </summary>
public sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    // Deliberately empty by default: the configuration binder appends to a pre-filled array
    // instead of replacing it, so the "sim-key" fallback is applied in AcceptedApiKeys.
    public string[] ApiKeys { get; set; } = [];

    /// <summary>
    /// Lets callback_url be plain http and point at loopback/private hosts. The real provider
    /// refuses both; the in-process dev Host and tests receive callbacks on 127.0.0.1.
    /// </summary>
    public bool AllowInsecureCallbacks { get; set; }

    /// <summary>How many create requests <c>GET /simulator/requests</c> and SimulatorState remember.</summary>
    public int MaxRecordedRequests { get; set; } = 1000;

    internal IReadOnlyList<string> AcceptedApiKeys => ApiKeys.Length == 0 ? ["sim-key"] : ApiKeys;
}
