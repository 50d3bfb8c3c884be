using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventImaging.IntegrationTests.Chaos;

/// <summary>
/// What a load balancer in front of the WebhookReceivers does for the providers: each callback goes to the next
/// receiver in turn, and a receiver that refuses the connection (killed, restarting) is skipped for the next one.
/// </summary>
public sealed class CallbackBalancer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient http = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2) }) { Timeout = TimeSpan.FromSeconds(30) };
    private Uri[] backends = [];
    private int next;

    private CallbackBalancer(WebApplication app) => this.app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public static async Task<CallbackBalancer> StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var balancer = new CallbackBalancer(builder.Build());
        balancer.app.Run(balancer.ForwardAsync);
        await balancer.app.StartAsync();
        balancer.BaseUrl = new Uri(balancer.app.Urls.First());
        return balancer;
    }

    /// <summary>The receivers to spread callbacks over; replaced whenever one is restarted on a new port.</summary>
    public void Route(IEnumerable<Uri> receivers) => Volatile.Write(ref backends, [.. receivers]);

    private async Task ForwardAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var targets = Volatile.Read(ref backends);
        var first = Interlocked.Increment(ref next);
        for (var i = 0; i < targets.Length; i++)
        {
            var target = new Uri(targets[(first + i) % targets.Length], context.Request.Path + context.Request.QueryString);
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target) { Content = new ByteArrayContent(body.ToArray()) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType ?? "application/json");
            try
            {
                using var response = await http.SendAsync(request, context.RequestAborted);
                context.Response.StatusCode = (int)response.StatusCode;
                if (response.Headers.RetryAfter is { } retryAfter)
                {
                    context.Response.Headers.RetryAfter = retryAfter.ToString();
                }

                return;
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError)
            {
                // Down: the next receiver is tried.
            }
        }

        context.Response.StatusCode = (int)HttpStatusCode.BadGateway;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        http.Dispose();
    }
}
