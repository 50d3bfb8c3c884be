using EventImaging.Core.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Archiving;

public static class ImageStoreExtensions
{
    /// <summary>The path the Host serves the directory store's files at.</summary>
    public const string FilesPath = "/files";

    /// <summary>
    /// The <c>Archive</c> settings, checked at start (<see cref="ArchiveOptionsValidation"/>), and the <see cref="IImageStore"/>
    /// that <c>Archive:Store</c> names: <see cref="S3ImageStore"/> for <c>s3</c>, <see cref="FileSystemImageStore"/> for
    /// <c>filesystem</c>, none for <c>none</c>. Several features may ask for it; it is registered once.
    /// </summary>
    public static IHostApplicationBuilder AddImageStore(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.FirstTime("ImageStore"))
        {
            return builder;
        }

        builder.Services.AddOptions<ArchiveOptions>().BindConfiguration(ArchiveOptions.Section).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ArchiveOptions>, ArchiveOptionsValidation>());

        // The choice is made here, from configuration, so that "none" registers nothing; an unknown value registers
        // nothing either and stops the start with the validation's message.
        var store = ArchiveStores.Normalize(builder.Configuration[$"{ArchiveOptions.Section}:{nameof(ArchiveOptions.Store)}"]);
        switch (store)
        {
            case ArchiveStores.S3:
                builder.Services.AddSingleton<IImageStore>(sp => new S3ImageStore(
                    sp.GetRequiredService<IOptions<ArchiveOptions>>().Value.S3, sp.GetRequiredService<ILogger<S3ImageStore>>()));
                break;
            case ArchiveStores.FileSystem:
                builder.Services.AddSingleton<IImageStore>(sp => new FileSystemImageStore(
                    sp.GetRequiredService<IOptions<ArchiveOptions>>().Value.FileSystem, sp.GetRequiredService<ILogger<FileSystemImageStore>>()));
                break;
        }

        return builder;
    }

    /// <summary>
    /// GET (and HEAD) <c>/files/{**key}</c>: the directory store's files, with an image content type from their extension,
    /// 404 for a missing file or a key that is not a store key. Maps nothing unless the registered store is the directory
    /// one. The URLs are the ones <c>ImageCompleted</c> carries, so no authentication: a key holds the request's id.
    /// </summary>
    public static IEndpointRouteBuilder MapArchivedFiles(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<IImageStore>() is not FileSystemImageStore store)
        {
            return endpoints;
        }

        endpoints.MapMethods($"{FilesPath}/{{**key}}", [HttpMethods.Get, HttpMethods.Head], (string? key, HttpContext context) =>
            {
                // Only what the archive step writes is served, whatever else the directory holds.
                if (!ImageCopier.IsImageKey(key) || !store.TryResolve(key, out var path) || !File.Exists(path))
                {
                    return Results.NotFound();
                }

                // The type comes from the name, not the bytes: browsers must not guess otherwise.
                context.Response.Headers.XContentTypeOptions = "nosniff";
                return TypedResults.PhysicalFile(
                    path, FileSystemImageStore.ContentTypeFor(path), lastModified: File.GetLastWriteTimeUtc(path), enableRangeProcessing: true);
            })
            .ExcludeFromDescription();
        return endpoints;
    }
}
