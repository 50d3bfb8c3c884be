using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Configuration;

internal static class BuilderMarks
{
    /// <summary>True the first time a shared registration is asked for on this builder, so several features can need it.</summary>
    public static bool FirstTime(this IHostApplicationBuilder builder, string registration)
    {
        var key = $"EventImaging.Registered:{registration}";
        return builder.Properties.TryAdd(key, true);
    }
}
