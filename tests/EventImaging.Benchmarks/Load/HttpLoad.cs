using System.Net;
using System.Net.Http.Headers;

namespace EventImaging.Benchmarks.Load;

/// <summary>
/// The HTTP client of every HTTP measurement (bare Kestrel and provider callbacks alike): SocketsHttpHandler,
/// HTTP/1.1, connections opened as concurrency needs them (up to <see cref="MaxConnections"/>) and kept.
/// </summary>
/// <param name="timeout">How long a request may go unanswered before it counts as failed (30 s by default).</param>
internal sealed class HttpLoad(TimeSpan? timeout = null) : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>How long the providers wait before sending a callback that was not answered 2xx again (PROVIDERS.md).</summary>
    private static readonly TimeSpan[] ProviderRetries = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];

    /// <summary>
    /// The most requests on the wire at once. Past it, an open loop's requests wait in the client, and their latency
    /// still counts from when each was due. Unbounded, an open loop past saturation opens one connection per waiting
    /// request, and the load generator can run out of memory before the service it measures does.
    /// </summary>
    private const int MaxConnections = 4096;

    private readonly HttpClient http = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = MaxConnections,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = timeout ?? TimeSpan.FromSeconds(30),
    };

    private readonly Dictionary<int, int> statuses = [];

    /// <summary>Answers other than 200, by status (0: no answer at all).</summary>
    public IReadOnlyDictionary<int, int> Errors
    {
        get
        {
            lock (statuses)
            {
                return new Dictionary<int, int>(statuses);
            }
        }
    }

    /// <summary>Posts a JSON body; true for a 200.</summary>
    public async Task<bool> PostAsync(Uri url, byte[] body) => Counted((await SendAsync(url, body)).Status);

    /// <summary>
    /// Posts a callback as the providers do: a callback the receiver turns away at its in-flight bound (503 with
    /// Retry-After) is sent again 1, 2 and 4 s later; <paramref name="turnedAway"/> is called for each one sent again.
    /// A callback turned away every time is given up, as the providers give it up, and is not counted in
    /// <see cref="Errors"/>. Any other answer, a 503 without Retry-After (the ledger unreachable) included, ends it.
    /// </summary>
    public async Task<CallbackAnswer> PostCallbackAsync(Uri url, byte[] body, Action turnedAway)
    {
        foreach (var wait in ProviderRetries)
        {
            var answer = await SendAsync(url, body);
            if (!answer.TurnedAway)
            {
                return Counted(answer.Status) ? CallbackAnswer.Ok : CallbackAnswer.Failed;
            }

            turnedAway();
            await Task.Delay(wait);
        }

        var last = await SendAsync(url, body);
        return last.TurnedAway ? CallbackAnswer.GivenUp
            : Counted(last.Status) ? CallbackAnswer.Ok : CallbackAnswer.Failed;
    }

    /// <summary>The answer's status (0 when there was none), and whether it was a 503 with Retry-After.</summary>
    private async Task<(int Status, bool TurnedAway)> SendAsync(Uri url, byte[] body)
    {
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = Json;
            using var response = await http.PostAsync(url, content);
            return ((int)response.StatusCode, response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null);
        }
        catch (HttpRequestException)
        {
            return (0, false);
        }
        catch (TaskCanceledException)
        {
            return (0, false);
        }
    }

    /// <summary>True for a 200; any other answer is counted in <see cref="Errors"/>.</summary>
    private bool Counted(int status)
    {
        if (status == (int)HttpStatusCode.OK)
        {
            return true;
        }

        lock (statuses)
        {
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
        }

        return false;
    }

    public void ResetErrors()
    {
        lock (statuses)
        {
            statuses.Clear();
        }
    }

    public void Dispose() => http.Dispose();
}

/// <summary>How a callback sent as the providers send it ended.</summary>
internal enum CallbackAnswer
{
    /// <summary>200.</summary>
    Ok,

    /// <summary>Turned away (503 with Retry-After) at the first attempt and at each of the providers' three retries.</summary>
    GivenUp,

    /// <summary>Any other answer, or none.</summary>
    Failed,
}
