using System.Text.Json;

namespace EventImaging.ProviderSimulator;

/// <summary>One create call as the simulator received it, accepted or not.</summary>
/// <param name="Body">The parsed JSON body; null when the body was not JSON.</param>
/// <param name="TaskId">The id assigned, or null when the create was answered with an error.</param>
/// <param name="ResponseStatus">The HTTP status the simulator answered with; <see cref="NeverAnswered"/> for a create it held until the caller gave up.</param>
public sealed record ReceivedCreateRequest(
    SimulatedProvider Provider,
    DateTimeOffset ReceivedAt,
    JsonElement? Body,
    string RawBody,
    string? TaskId,
    int ResponseStatus)
{
    public const int NeverAnswered = 0;
}
