using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using EventImaging.Contracts;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Providers.Evolink;

/// <summary>evolink.ai: <c>POST /v1/images/generations</c>, <c>GET /v1/tasks/{id}</c>, and its callbacks.</summary>
public sealed class EvolinkClient(HttpClient http, IOptions<EvolinkOptions> options, TimeProvider clock) : IImageProvider
{
    public const string ProviderName = "evolink";
    public const string Gpt15 = "gpt-image-1.5";
    public const string Gpt15Beta = "gpt-image-1.5-beta";

    private static readonly string[] Sizes = ["1024x1024", "1024x1536", "1536x1024", "1:1", "2:3", "3:2"];

    public static ProviderCapabilities Evolink { get; } = new(
        ProviderName,
        new Dictionary<string, ModelCapabilities>
        {
            [Gpt15] = new(Sizes.ToHashSet(), new HashSet<string> { "low", "medium", "high" }),
            [Gpt15Beta] = new(Sizes.ToHashSet(), new HashSet<string> { "low", "medium", "high", "auto" }),
        },
        new Dictionary<string, string> { ["gpt-image-1.5-lite"] = Gpt15Beta },
        MaxPromptLength: 2000,
        MaxImageUrls: 16,
        SupportsInputFidelity: false,
        ResultUrlLifetime: TimeSpan.FromHours(24));

    public string Name => ProviderName;

    public ProviderCapabilities Capabilities => Evolink;

    public async Task<ProviderTask> CreateAsync(ProviderSubmission submission, CancellationToken cancellationToken)
    {
        var body = new CreateBody(
            submission.Model,
            submission.Prompt,
            submission.Size,
            // The documents disagree on the default quality; always send it explicitly.
            submission.Quality ?? (submission.Model == Gpt15Beta ? "auto" : "high"),
            submission.ImageUrls is { Count: > 0 } urls ? urls : null,
            1,
            submission.CallbackUrl?.AbsoluteUri);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/images/generations")
        {
            Content = JsonContent.Create(body, options: CreateBody.Json),
        };
        return await SendAsync(request, sent: true, cancellationToken);
    }

    public async Task<ProviderTask> GetAsync(string taskId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/tasks/{Uri.EscapeDataString(taskId)}");
        return await SendAsync(request, sent: false, cancellationToken);
    }

    public ProviderTask ParseCallback(ReadOnlySpan<byte> body) => EvolinkPayloads.ReadTask(body);

    private async Task<ProviderTask> SendAsync(HttpRequestMessage request, bool sent, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.ApiKey);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            throw new ProviderException(
                ProviderFailureKind.Transient,
                new(FailureCodes.ProviderError, null, $"evolink could not be reached: {ex.HttpRequestError}.", true),
                inner: ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException
            && !cancellationToken.IsCancellationRequested)
        {
            // The request may have reached the provider: for a create this is the ambiguous case.
            throw new ProviderException(
                sent ? ProviderFailureKind.OutcomeUnknown : ProviderFailureKind.Transient,
                new(FailureCodes.ProviderError, null, "evolink did not answer in time.", true),
                inner: ex);
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException ex)
        {
            throw new ProviderException(
                ProviderFailureKind.Transient,
                new(FailureCodes.ProviderError, null, "evolink is failing; calls are paused by the circuit breaker.", true),
                inner: ex);
        }

        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    return EvolinkPayloads.ReadTask(bytes);
                }
                catch (ProviderPayloadException ex)
                {
                    throw new ProviderException(
                        sent ? ProviderFailureKind.OutcomeUnknown : ProviderFailureKind.Transient,
                        new(FailureCodes.ProviderError, null, ex.Message, true),
                        (int)response.StatusCode,
                        inner: ex);
                }
            }

            var status = (int)response.StatusCode;
            var (providerCode, message) = EvolinkPayloads.ReadErrorBody(bytes);
            var (kind, failure) = EvolinkErrors.ForHttp(status, providerCode, message);
            throw new ProviderException(kind, failure, status, RetryAfterOf(response));
        }
    }

    private TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - clock.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private sealed record CreateBody(
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("prompt")] string Prompt,
        [property: JsonPropertyName("size")] string Size,
        [property: JsonPropertyName("quality")] string Quality,
        [property: JsonPropertyName("image_urls")] IReadOnlyList<string>? ImageUrls,
        [property: JsonPropertyName("n")] int N,
        [property: JsonPropertyName("callback_url")] string? CallbackUrl)
    {
        public static readonly System.Text.Json.JsonSerializerOptions Json = new()
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
    }
}
