using System.Net.Http.Headers;
using EventImaging.Contracts;

namespace EventImaging.Core.Providers;

/// <summary>
/// One provider HTTP call, with failures typed by whose fault they are: refused connections are transient
/// (nothing was sent), a timeout after sending a create leaves its outcome unknown, an open circuit breaker
/// is transient. Each client reads the successful body and maps its own error bodies.
/// </summary>
internal static class ProviderHttp
{
    /// <param name="creates">True for a call that creates a task: then a lost answer makes the outcome unknown.</param>
    /// <param name="errorOf">Maps a non-success answer (status, body) to the provider's typed error.</param>
    public static async Task<byte[]> SendAsync(
        HttpClient http,
        HttpRequestMessage request,
        string provider,
        string? apiKey,
        bool creates,
        Func<int, byte[], ProviderException> errorOf,
        CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            throw new ProviderException(
                ProviderFailureKind.Transient,
                new(FailureCodes.ProviderError, null, $"{provider} could not be reached: {ex.HttpRequestError}.", true),
                inner: ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException
            && !cancellationToken.IsCancellationRequested)
        {
            // The request may have reached the provider: for a create this is the ambiguous case.
            throw new ProviderException(
                creates ? ProviderFailureKind.OutcomeUnknown : ProviderFailureKind.Transient,
                new(FailureCodes.ProviderError, null, $"{provider} did not answer in time.", true),
                inner: ex);
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException ex)
        {
            throw new ProviderException(
                ProviderFailureKind.Transient,
                new(FailureCodes.ProviderError, null, $"{provider} is failing; calls are paused by the circuit breaker.", true),
                inner: ex);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return body;
            }

            var error = errorOf((int)response.StatusCode, body);
            if (creates && IsGatewayFailure((int)response.StatusCode))
            {
                // A gateway answered for the provider: the create may have reached it and been billed all the same.
                error = new ProviderException(ProviderFailureKind.OutcomeUnknown, error.Failure, error.HttpStatus, error.RetryAfter, error);
            }

            throw error.RetryAfter is null ? WithRetryAfter(error, response) : error;
        }
    }

    /// <summary>
    /// Reads a successful body. A create the provider accepted but answered with a body that cannot be used (no task id,
    /// one too long to store) is <see cref="ProviderFailureKind.AcceptedUnusable"/>: never sent again, since the task may
    /// exist and be billed. A status answer that cannot be read is asked again later.
    /// </summary>
    public static ProviderTask Read(byte[] body, Func<byte[], ProviderTask> read, bool creates, string provider)
    {
        try
        {
            return read(body);
        }
        catch (ProviderPayloadException ex)
        {
            throw new ProviderException(
                creates ? ProviderFailureKind.AcceptedUnusable : ProviderFailureKind.Transient,
                new(
                    FailureCodes.ProviderError,
                    null,
                    creates ? $"{provider} accepted the request but its answer could not be used ({ex.Message}); it is not sent again, since the task may exist, and no callback came for it." : ex.Message,
                    true),
                inner: ex);
        }
    }

    /// <summary>
    /// 502 and 504 (and a CDN's 520-527) come from a proxy in front of the provider, which may have forwarded the request
    /// before it failed; 429, 500 and 503 come from the provider itself, refusing before acting.
    /// </summary>
    public static bool IsGatewayFailure(int status) => status is 502 or 504 or (>= 520 and <= 527);

    private static ProviderException WithRetryAfter(ProviderException error, HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => new(error.Kind, error.Failure, error.HttpStatus, delta),
            { Date: { } date } when response.Headers.Date is { } now => new(error.Kind, error.Failure, error.HttpStatus, date > now ? date - now : TimeSpan.Zero),
            _ => error,
        };
}
