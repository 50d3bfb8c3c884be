using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Providers.GptImage15;

/// <summary>gptimage15.ai: <c>POST /api/generate</c>, <c>GET /api/status?task_id=</c>, and its callbacks.</summary>
public sealed class GptImage15Client(HttpClient http, IOptions<GptImage15Options> options) : IImageProvider
{
    public const string ProviderName = "gptimage15";

    /// <summary>The request vocabulary's sizes onto the provider's pixel sizes (it takes only pixels, written with <c>*</c>).</summary>
    public static IReadOnlyDictionary<string, string> SizeMap { get; } = new Dictionary<string, string>
    {
        ["1024x1024"] = "1024*1024",
        ["1024x1536"] = "1024*1536",
        ["1536x1024"] = "1536*1024",
        ["1:1"] = "1024*1024",
        ["2:3"] = "1024*1536",
        ["3:2"] = "1536*1024",
    };

    public static ProviderCapabilities GptImage15 { get; } = new(
        ProviderName,
        new Dictionary<string, ModelCapabilities>
        {
            // The API has no model field: every request is GPT Image 1.5.
            ["gpt-image-1.5"] = new(SizeMap.Keys.ToHashSet(), new HashSet<string> { "low", "medium", "high" }),
        },
        new Dictionary<string, string>(),
        MaxPromptLength: 2000,
        MaxImageUrls: 16,
        SupportsInputFidelity: true,
        // Not documented; the figure the other provider documents, and the advice of every provider: copy at once.
        ResultUrlLifetime: TimeSpan.FromHours(24));

    public string Name => ProviderName;

    public ProviderCapabilities Capabilities => GptImage15;

    public async Task<ProviderTask> CreateAsync(ProviderSubmission submission, CancellationToken cancellationToken)
    {
        var body = new CreateBody(
            submission.Prompt,
            SizeMap[submission.Size],
            submission.Quality,
            submission.ImageUrls is { Count: > 0 } urls ? urls : null,
            submission.InputFidelity,
            submission.CallbackUrl?.AbsoluteUri);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/generate")
        {
            Content = JsonContent.Create(body, options: CreateBody.Json),
        };
        var answer = await ProviderHttp.SendAsync(http, request, ProviderName, options.Value.ApiKey, creates: true, ErrorOf, cancellationToken);
        ThrowIfEnvelopeError(answer);
        return ProviderHttp.Read(answer, bytes => GptImage15Payloads.ReadTask(bytes), creates: true, ProviderName);
    }

    public async Task<ProviderTask> GetAsync(string taskId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/status?task_id={Uri.EscapeDataString(taskId)}");
        var answer = await ProviderHttp.SendAsync(http, request, ProviderName, options.Value.ApiKey, creates: false, ErrorOf, cancellationToken);
        ThrowIfEnvelopeError(answer);
        return ProviderHttp.Read(answer, bytes => GptImage15Payloads.ReadTask(bytes), creates: false, ProviderName);
    }

    public ProviderTask ParseCallback(ReadOnlySpan<byte> body) => GptImage15Payloads.ReadTask(body);

    /// <summary>The envelope carries its own <c>code</c>; an HTTP 200 whose code is an error is that error.</summary>
    private static void ThrowIfEnvelopeError(byte[] body)
    {
        if (GptImage15Payloads.ReadEnvelope(body) is ({ } code, _) && code is not (0 or 200))
        {
            throw ErrorOf(code, body);
        }
    }

    private static ProviderException ErrorOf(int status, byte[] body)
    {
        var (code, message) = GptImage15Payloads.ReadEnvelope(body);
        var providerCode = (code ?? status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return HttpFailures.ToException(code ?? status, providerCode, message ?? $"gptimage15 answered HTTP {status}.");
    }

    private sealed record CreateBody(
        [property: JsonPropertyName("prompt")] string Prompt,
        [property: JsonPropertyName("size")] string Size,
        [property: JsonPropertyName("quality")] string? Quality,
        [property: JsonPropertyName("images")] IReadOnlyList<string>? Images,
        [property: JsonPropertyName("input_fidelity")] string? InputFidelity,
        [property: JsonPropertyName("callback_url")] string? CallbackUrl)
    {
        public static readonly System.Text.Json.JsonSerializerOptions Json = new()
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
    }
}
