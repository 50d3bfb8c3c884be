using System.Text.Json.Serialization;

namespace EventImaging.ProviderSimulator;

[JsonConverter(typeof(JsonStringEnumConverter<SimulatedProvider>))]
public enum SimulatedProvider
{
    Evolink,
    GptImage15,
}
