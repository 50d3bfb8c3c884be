using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventImaging.ProviderSimulator.Behaviour;

internal static class JsonReply
{
    // Bodies are read by programs and people alike: keep quotes and '+' readable instead of \u0027.
    public static readonly JsonSerializerOptions Wire = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Bodies are built as JSON nodes so field names and shapes are exactly the provider's, untouched by serializer policies.</summary>
    public static IResult With(JsonNode body, int status = StatusCodes.Status200OK) =>
        Results.Content(body.ToJsonString(Wire), "application/json", Encoding.UTF8, status);
}
