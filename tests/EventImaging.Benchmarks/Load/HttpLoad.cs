using System.Net;
using System.Net.Http.Headers;

namespace EventImaging.Benchmarks.Load;

/// <summary>
/// The HTTP client of every HTTP measurement (bare Kestrel and provider callbacks alike): SocketsHttpHandler,
/// HTTP/1.1, connections opened as concurrency needs them and kept.
/// </summary>
internal sealed class HttpLoad : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
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
    public async Task<bool> PostAsync(Uri url, byte[] body)
    {
        int status;
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = Json;
            using var response = await http.PostAsync(url, content);
            status = (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            status = 0;
        }
        catch (TaskCanceledException)
        {
            status = 0;
        }

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
