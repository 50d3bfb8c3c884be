using EventImaging.Core.Scheduling;
using EventImaging.Core.Polling;
using EventImaging.Core.Outbox;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Providers;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Submission;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventImaging.IntegrationTests.Configuration;

/// <summary>A deployed service with a missing or wrong setting refuses to start, naming the setting.</summary>
public sealed class StartupConfigurationTests
{
    private static readonly Dictionary<string, string?> Complete = new()
    {
        ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:5672/",
        ["ConnectionStrings:Ledger"] = "Host=127.0.0.1;Database=eventimaging",
        ["Providers:Evolink:ApiKey"] = "key",
        ["Callbacks:PublicBaseUrl"] = "https://hooks.example.com",
    };

    [Theory]
    [InlineData("ConnectionStrings:RabbitMq", "ConnectionStrings__RabbitMq")]
    [InlineData("ConnectionStrings:Ledger", "ConnectionStrings__Ledger")]
    [InlineData("Providers:Evolink:ApiKey", "Providers__Evolink__ApiKey")]
    public void A_missing_setting_stops_the_submitter_with_its_name(string key, string environmentName)
    {
        var settings = new Dictionary<string, string?>(Complete) { [key] = null };
        var error = Assert.Throws<InvalidOperationException>(() => ComposeSubmitter(settings));
        Assert.Contains(environmentName, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broker_string_that_is_not_amqp_is_named()
    {
        var settings = new Dictionary<string, string?>(Complete) { ["ConnectionStrings:RabbitMq"] = "localhost:5672" };
        var error = Assert.Throws<InvalidOperationException>(() => ComposeSubmitter(settings));
        Assert.Contains("amqp://", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://hooks.example.com")]
    [InlineData("https://10.1.2.3")]
    [InlineData("https://localhost:8443")]
    public void An_insecure_or_private_callback_base_url_stops_start_up(string url)
    {
        var settings = new Dictionary<string, string?>(Complete) { ["Callbacks:PublicBaseUrl"] = url };
        using var app = ComposeSubmitter(settings);
        var error = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<CallbackOptions>>().Value);
        Assert.Contains("Callbacks:PublicBaseUrl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_development_switch_allows_an_http_callback_base_url()
    {
        var settings = new Dictionary<string, string?>(Complete)
        {
            ["Callbacks:PublicBaseUrl"] = "http://127.0.0.1:5080",
            ["Callbacks:AllowInsecureHttp"] = "true",
        };
        using var app = ComposeSubmitter(settings);
        Assert.Equal(new Uri("http://127.0.0.1:5080"), app.Services.GetRequiredService<IOptions<CallbackOptions>>().Value.PublicBaseUrl);
    }

    private static WebApplication ComposeSubmitter(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        builder.AddLedger();
        builder.AddOutbox();
        builder.AddProviders();
        builder.AddSubmitter();
        builder.AddPollingFallback();
        builder.AddScheduler();
        builder.AddMessageBus();
        return builder.Build();
    }
}
