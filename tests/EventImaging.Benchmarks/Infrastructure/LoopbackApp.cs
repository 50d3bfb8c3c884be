using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>An ASP.NET Core app in this process on a free loopback port (the provider simulator), composed as its Program.cs.</summary>
internal static class LoopbackApp
{
    public static async Task<WebApplication> StartAsync(
        IDictionary<string, string?> settings,
        Action<WebApplicationBuilder> compose,
        Action<WebApplication> map)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        compose(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }

    public static Uri BaseUrl(this WebApplication app) => new(app.Urls.First());
}
