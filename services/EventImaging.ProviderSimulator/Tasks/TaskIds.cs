using System.Security.Cryptography;

namespace EventImaging.ProviderSimulator.Tasks;

internal static class TaskIds
{
    private const string LowerAlphanumeric = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>evolink's documented form: <c>task-unified-1757156493-imcg5zqt</c>.</summary>
    public static string Evolink(DateTimeOffset now) =>
        $"task-unified-{now.ToUnixTimeSeconds()}-{RandomNumberGenerator.GetString(LowerAlphanumeric, 8)}";

    /// <summary>Shaped like the documented example <c>n36abc123def456gptimg</c>.</summary>
    public static string GptImage15() =>
        $"n{RandomNumberGenerator.GetString(LowerAlphanumeric, 14)}gptimg";

    /// <summary>Maps the provider's size token to pixels; the aspect-ratio forms are rendered at 1024 on the short side.</summary>
    public static (int Width, int Height) Pixels(string size) => size switch
    {
        "2:3" or "1024x1536" or "1024*1536" => (1024, 1536),
        "3:2" or "1536x1024" or "1536*1024" => (1536, 1024),
        _ => (1024, 1024),
    };
}
