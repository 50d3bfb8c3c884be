using System.Globalization;
using EventImaging.ProviderSimulator.Tasks;

namespace EventImaging.ProviderSimulator.Files;

/// <summary>
/// Result URLs carry everything needed to serve the file (<c>{taskId}_{width}x{height}.png</c>, and in the query when
/// the link expires and how the file misbehaves), so a file can be served without the task, e.g. after a simulator
/// restart. Past its expiry a link answers 404, as the providers' storage does once a result is deleted.
/// </summary>
internal static class ResultFiles
{
    public const string Route = "/simulator/files/{name}.png";

    private const int ChunkBytes = 64 * 1024;

    private static readonly byte[] BrokenBody = "<html><body><h1>502 Bad Gateway</h1></body></html>"u8.ToArray();

    public static string BaseUrl(HttpRequest request) =>
        $"{request.Scheme}://{request.Host}{request.PathBase}";

    public static string Url(string baseUrl, SimulatedTask task)
    {
        var file = task.Behaviour.File;
        var query = new List<string>();
        if (file.UrlLifetime > TimeSpan.Zero)
        {
            query.Add($"expires={(task.TerminalAt + file.UrlLifetime).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}");
        }

        if (file.Bytes > 0)
        {
            query.Add($"bytes={file.Bytes.ToString(CultureInfo.InvariantCulture)}");
        }

        if (file.SlowMsPer64KiB > 0)
        {
            query.Add($"slow={file.SlowMsPer64KiB.ToString(CultureInfo.InvariantCulture)}");
        }

        if (file.Broken)
        {
            query.Add("broken=1");
        }

        var url = $"{baseUrl}/simulator/files/{Uri.EscapeDataString(task.Id)}_{task.Width}x{task.Height}.png";
        return query.Count == 0 ? url : $"{url}?{string.Join('&', query)}";
    }

    public static IEndpointRouteBuilder MapResultFiles(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Route, (string name, long? expires, int? bytes, int? slow, int? broken, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var (seed, width, height) = ParseName(name);
            if (width is < 1 or > PngImage.MaxSide || height is < 1 or > PngImage.MaxSide || bytes is < 0 or > MaxPadding)
            {
                return Results.NotFound();
            }

            if (expires is { } until && clock.GetUtcNow().ToUnixTimeMilliseconds() > until)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "The result has expired and was deleted.");
            }

            var body = broken is 1 ? BrokenBody : PngImage.Render(width, height, seed, bytes ?? 0);
            return slow is > 0
                ? Results.Stream(stream => SendSlowlyAsync(stream, body, TimeSpan.FromMilliseconds(slow.Value), clock, cancellationToken), "image/png")
                : Results.File(body, "image/png");
        });
        return endpoints;
    }

    /// <summary>The largest file the simulator pads to: enough for an oversized result, bounded so no URL can ask for more.</summary>
    private const int MaxPadding = 128 * 1024 * 1024;

    private static async Task SendSlowlyAsync(Stream stream, byte[] body, TimeSpan perChunk, TimeProvider clock, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < body.Length; offset += ChunkBytes)
        {
            await Task.Delay(perChunk, clock, cancellationToken);
            await stream.WriteAsync(body.AsMemory(offset, Math.Min(ChunkBytes, body.Length - offset)), cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
    }

    private static (string Seed, int Width, int Height) ParseName(string name)
    {
        var underscore = name.LastIndexOf('_');
        if (underscore > 0)
        {
            var size = name[(underscore + 1)..].Split('x');
            if (size.Length == 2
                && int.TryParse(size[0], NumberStyles.None, CultureInfo.InvariantCulture, out var width)
                && int.TryParse(size[1], NumberStyles.None, CultureInfo.InvariantCulture, out var height))
            {
                return (name[..underscore], width, height);
            }
        }

        return (name, 1024, 1024);
    }
}
