using System.Net;
using EventImaging.Core.Archiving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventImaging.IntegrationTests.Archiving;

/// <summary><see cref="FileSystemImageStore"/> in a fresh directory, and the Host's <c>/files</c> endpoint serving it.</summary>
public sealed class ImageStoreFileSystemTests(ITestOutputHelper output) : IDisposable
{
    private readonly string work = Path.Combine(Path.GetTempPath(), $"ei-fs-test-{Guid.NewGuid():N}");

    private string Root => Path.Combine(work, "store");

    private string Spool => Path.Combine(work, "spool");

    [Fact]
    public async Task Put_writes_the_file_under_the_root_and_the_url_is_the_base_and_the_escaped_key()
    {
        var store = Store("http://localhost:8080/files/");
        var file = TestImages.WritePng(Spool, 120, seed: 11);
        var key = "7d7c0e4e-1111-4b1e-9c53-2f7a0c3c2d10/0 a#b.png";

        await store.PutAsync(key, file, "image/png", CancellationToken.None);

        Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(Root, "7d7c0e4e-1111-4b1e-9c53-2f7a0c3c2d10", "0 a#b.png")));
        var stored = store.UrlFor(key, DateTimeOffset.UtcNow);
        Assert.Equal("http://localhost:8080/files/7d7c0e4e-1111-4b1e-9c53-2f7a0c3c2d10/0%20a%23b.png", stored.Url.AbsoluteUri);
        Assert.Null(stored.ExpiresAt);
        Assert.Empty(TemporaryFiles());
    }

    [Fact]
    public async Task A_second_put_overwrites_and_a_failed_one_leaves_the_stored_file_whole()
    {
        var store = Store("http://localhost/files");
        var first = TestImages.WritePng(Spool, 50, seed: 12);
        var second = TestImages.WritePng(Spool, 70, seed: 13);
        var third = TestImages.WritePng(Spool, 90, seed: 14);
        var target = Path.Combine(Root, "r", "0.png");

        await store.PutAsync("r/0.png", first, "image/png", CancellationToken.None);
        await store.PutAsync("r/0.png", second, "image/png", CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(second), await File.ReadAllBytesAsync(target));

        // A copy that does not finish (here: cancelled) never replaces what is there, and leaves no temporary file.
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("r/0.png", third, "image/png", cancelled.Token));
        Assert.Equal(await File.ReadAllBytesAsync(second), await File.ReadAllBytesAsync(target));
        Assert.Empty(TemporaryFiles());
    }

    [Theory]
    [InlineData("../x.png")]
    [InlineData("r/../../x.png")]
    [InlineData("/etc/x.png")]
    [InlineData("r\\..\\x.png")]
    [InlineData("r/.x.png")]
    [InlineData("r//x.png")]
    [InlineData("C:/x.png")]
    public async Task A_key_that_could_leave_the_root_is_refused_and_nothing_is_written(string key)
    {
        var store = Store("http://localhost/files");
        var file = TestImages.WritePng(Spool, 8, seed: 15);

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(key, file, "image/png", CancellationToken.None));

        Assert.False(File.Exists(Path.Combine(work, "x.png")));
        Assert.True(!Directory.Exists(Root) || Directory.GetFiles(Root, "*", SearchOption.AllDirectories).Length == 0);
        Assert.False(store.TryResolve(key, out _));
    }

    [Fact]
    public async Task The_files_endpoint_serves_stored_images_with_their_type_and_nothing_else()
    {
        await using var app = await StartAppAsync(new Dictionary<string, string?>
        {
            ["Archive:Store"] = "filesystem",
            ["Archive:FileSystem:Root"] = Root,
            ["Archive:FileSystem:PublicBaseUrl"] = "http://localhost/files",
        });
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var store = Assert.IsType<FileSystemImageStore>(app.Services.GetRequiredService<IImageStore>());
        var png = TestImages.WritePng(Spool, 100, seed: 16);
        var request = Guid.NewGuid().ToString("N");
        await store.PutAsync($"{request}/0.png", png, "image/png", CancellationToken.None);
        await store.PutAsync($"{request}/1.webp", png, "image/webp", CancellationToken.None);
        // A file beside the root, which no URL may reach; and one in it that the archive did not write (a ledger file, say).
        await File.WriteAllTextAsync(Path.Combine(work, "secret.png"), "outside");
        await store.PutAsync("eventimaging.db", png, "application/octet-stream", CancellationToken.None);
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

        using (var response = await http.GetAsync(new Uri($"files/{request}/0.png", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(png), await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        using (var response = await http.GetAsync(new Uri($"files/{request}/1.webp", UriKind.Relative)))
        {
            Assert.Equal("image/webp", response.Content.Headers.ContentType?.MediaType);
        }

        foreach (var path in new[] { $"files/{request}/2.png", "files/eventimaging.db", "files/..%2Fsecret.png", "files/%2E%2E/secret.png", "files/req-1/..%2F..%2Fsecret.png", "files/req-1%5C..%5C..%5Csecret.png" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"GET /{path} answered {(int)response.StatusCode}, not 404");
        }
    }

    [Fact]
    public async Task Without_the_directory_store_the_files_endpoint_is_not_mapped()
    {
        await using var app = await StartAppAsync(new Dictionary<string, string?> { ["Archive:Store"] = "none" });
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

        Assert.Null(app.Services.GetService<IImageStore>());
        using var response = await http.GetAsync(new Uri("files/anything.png", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    public void Dispose()
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private FileSystemImageStore Store(string publicBaseUrl) =>
        new(new FileSystemStoreOptions { Root = Root, PublicBaseUrl = publicBaseUrl }, NullLogger<FileSystemImageStore>.Instance);

    private string[] TemporaryFiles() =>
        Directory.Exists(Root) ? Directory.GetFiles(Root, "*.tmp", SearchOption.AllDirectories) : [];

    private async Task<WebApplication> StartAppAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().AddProvider(new TestOutputLog(output).Provider("files"));
        builder.AddImageStore();
        var app = builder.Build();
        app.MapArchivedFiles();
        await app.StartAsync();
        return app;
    }
}
