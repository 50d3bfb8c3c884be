using EventImaging.Core.Archiving;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.IntegrationTests.Archiving;

/// <summary><see cref="ImageStoreExtensions.AddImageStore"/>: which store is registered, once, and that wrong settings stop the start.</summary>
public sealed class ImageStoreRegistrationTests
{
    [Theory]
    [InlineData("s3", typeof(S3ImageStore))]
    [InlineData("S3", typeof(S3ImageStore))]
    [InlineData("filesystem", typeof(FileSystemImageStore))]
    [InlineData("none", null)]
    public void The_store_setting_chooses_the_one_registered_store(string store, Type? expected)
    {
        var builder = Builder(new()
        {
            ["Archive:Store"] = store,
            ["Archive:S3:ServiceUrl"] = "http://127.0.0.1:4569",
            ["Archive:S3:Bucket"] = "images",
            ["Archive:FileSystem:Root"] = Path.Combine(Path.GetTempPath(), "ei-unused"),
            ["Archive:FileSystem:PublicBaseUrl"] = "http://localhost/files",
        });

        builder.AddImageStore();
        builder.AddImageStore();

        var registered = builder.Services.Where(d => d.ServiceType == typeof(IImageStore)).ToList();
        Assert.Equal(expected is null ? 0 : 1, registered.Count);
        Assert.Single(builder.Services, d => d.ServiceType == typeof(IValidateOptions<ArchiveOptions>) && d.ImplementationType == typeof(ArchiveOptionsValidation));
        using var host = builder.Build();
        Assert.Equal(expected, host.Services.GetService<IImageStore>()?.GetType());
    }

    [Fact]
    public async Task A_wrong_setting_stops_the_start_with_a_sentence_naming_it()
    {
        var builder = Builder(new() { ["Archive:Store"] = "s3", ["Archive:S3:AccessKey"] = "AKIAEXAMPLE" });
        builder.AddImageStore();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Archive:S3:Bucket must be set when Archive:Store is s3.", error.Failures);
        Assert.Contains(error.Failures, f => f.StartsWith("Archive:S3:AccessKey and Archive:S3:SecretKey must be set together", StringComparison.Ordinal));
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        return builder;
    }
}
