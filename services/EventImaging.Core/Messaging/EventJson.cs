using System.Text.Json;

namespace EventImaging.Core.Messaging;

/// <summary>The JSON form of contracts at rest (ledger) and on the wire: camelCase, like MassTransit's.</summary>
public static class EventJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}
