using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>
/// A service booted in this process by its own Program.cs (its real entry point, through WebApplicationFactory), on
/// real Kestrel at a free 127.0.0.1 port, with the test's settings on top of its own and its logs in the test's output.
/// </summary>
public sealed class ServiceApp : IAsyncDisposable
{
    private readonly IAsyncDisposable factory;

    private ServiceApp(IAsyncDisposable factory, IServiceProvider services, Uri baseUrl)
    {
        this.factory = factory;
        Services = services;
        BaseUrl = baseUrl;
    }

    public IServiceProvider Services { get; }

    /// <summary>Where Kestrel listens, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public Uri BaseUrl { get; }

    /// <param name="name">How its log lines are prefixed in the test output.</param>
    /// <param name="settings">Configuration on top of the service's appsettings.json, seen from the first line of Program.cs on.</param>
    /// <param name="configure">Test hooks on the service's container and logging (telemetry capture), applied after Program.cs's own.</param>
    public static async Task<ServiceApp> StartAsync<TEntryPoint>(
        string name,
        IReadOnlyDictionary<string, string?> settings,
        TestOutputLog log,
        Action<IServiceCollection, ILoggingBuilder>? configure = null)
        where TEntryPoint : class
    {
        var factory = new Factory<TEntryPoint>(name, settings, log, configure);
        try
        {
            factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            // Starting runs Program.cs up to app.Run(), which blocks in Kestrel's start: off the test's thread.
            await Task.Run(factory.StartServer);
            var services = factory.Services;
            var address = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new ServiceApp(factory, services, new Uri(address));
        }
        catch
        {
            await factory.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => factory.DisposeAsync();

    private sealed class Factory<TEntryPoint>(
        string name,
        IReadOnlyDictionary<string, string?> settings,
        TestOutputLog log,
        Action<IServiceCollection, ILoggingBuilder>? configure) : WebApplicationFactory<TEntryPoint>
        where TEntryPoint : class
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureServices(services =>
            {
                services.AddLogging(logging =>
                {
                    // The service's own JSON console lines would fill the run's output: its lines go to the test's.
                    logging.AddFilter<ConsoleLoggerProvider>(_ => false);
                    logging.AddProvider(log.Provider(name));
                    configure?.Invoke(services, logging);
                });
            });
        }
    }
}
