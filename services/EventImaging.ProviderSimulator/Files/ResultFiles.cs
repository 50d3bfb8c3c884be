using System.Globalization;
using EventImaging.ProviderSimulator.Tasks;

namespace EventImaging.ProviderSimulator.Files;

/// <summary>
/// Result URLs carry everything needed to render the file (<c>{taskId}_{width}x{height}.png</c>),
/// so a file can be served without the task, e.g. after a simulator restart.
/// </summary>
internal static class ResultFiles
{
    public const string Route = "/simulator/files/{name}.png";

    public static string BaseUrl(HttpRequest request) =>
        $"{request.Scheme}://{request.Host}{request.PathBase}";

    public static string Url(string baseUrl, SimulatedTask task) =>
        $"{baseUrl}/simulator/files/{Uri.EscapeDataString(task.Id)}_{task.Width}x{task.Height}.png";

    public static IEndpointRouteBuilder MapResultFiles(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Route, (string name) =>
        {
            var (seed, width, height) = ParseName(name);
            if (width is < 1 or > PngImage.MaxSide || height is < 1 or > PngImage.MaxSide)
            {
                return Results.NotFound();
            }

            return Results.File(PngImage.Render(width, height, seed), "image/png");
        });
        return endpoints;
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
