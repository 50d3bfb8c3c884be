using Microsoft.Extensions.Options;

namespace EventImaging.Core.Archiving;

/// <summary>
/// The start-up check of <c>Archive</c>: one sentence per wrong setting, naming it. With the store off nothing else is
/// checked; otherwise the copy settings and the chosen store's own are.
/// </summary>
internal sealed class ArchiveOptionsValidation : IValidateOptions<ArchiveOptions>
{
    /// <summary>SigV4's limit on a presigned URL's lifetime.</summary>
    public static readonly TimeSpan MaxPresignedUrlLifetime = TimeSpan.FromDays(7);

    public ValidateOptionsResult Validate(string? name, ArchiveOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static IReadOnlyList<string> Problems(ArchiveOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var store = ArchiveStores.Normalize(options.Store);
        if (store is not (ArchiveStores.None or ArchiveStores.S3 or ArchiveStores.FileSystem))
        {
            problems.Add($"Archive:Store must be none, s3 or filesystem (it is '{options.Store}').");
            return problems;
        }

        if (store == ArchiveStores.None)
        {
            return problems;
        }

        Require(problems, options.MaxAttempts > 0, "Archive:MaxAttempts must be greater than 0.");
        Require(problems, options.MaxConcurrentCopies is > 0 and <= 256, "Archive:MaxConcurrentCopies must be between 1 and 256.");
        Require(problems, options.MaxBytes > 0, "Archive:MaxBytes must be greater than 0.");
        Require(problems, options.RetryInitialInterval > TimeSpan.Zero, "Archive:RetryInitialInterval must be positive.");
        Require(
            problems,
            options.RetryMaxInterval >= options.RetryInitialInterval,
            "Archive:RetryMaxInterval must be at least Archive:RetryInitialInterval.");
        Require(problems, options.ConnectTimeout > TimeSpan.Zero, "Archive:ConnectTimeout must be positive.");
        Require(problems, options.ReadTimeout > TimeSpan.Zero, "Archive:ReadTimeout must be positive.");

        if (store == ArchiveStores.S3)
        {
            S3Problems(problems, options.S3);
        }
        else
        {
            FileSystemProblems(problems, options.FileSystem);
        }

        return problems;
    }

    private static void S3Problems(List<string> problems, S3StoreOptions s3)
    {
        Require(problems, !string.IsNullOrWhiteSpace(s3.Bucket), "Archive:S3:Bucket must be set when Archive:Store is s3.");
        Require(problems, !string.IsNullOrWhiteSpace(s3.Region), "Archive:S3:Region must be set (us-east-1 for most S3-compatible servers).");
        Require(
            problems,
            string.IsNullOrEmpty(s3.AccessKey) == string.IsNullOrEmpty(s3.SecretKey),
            "Archive:S3:AccessKey and Archive:S3:SecretKey must be set together, or both left unset for the SDK's default credentials.");
        // The value is not repeated: a URL with user info would put a credential in the message.
        Require(
            problems,
            s3.ServiceUrl is null || IsHttpUrl(s3.ServiceUrl),
            "Archive:S3:ServiceUrl must be an absolute http or https URL without user info when set.");
        Require(
            problems,
            s3.PresignedUrlLifetime > TimeSpan.Zero && s3.PresignedUrlLifetime <= MaxPresignedUrlLifetime,
            "Archive:S3:PresignedUrlLifetime must be more than 0 and at most 7 days (SigV4's limit).");
        Require(
            problems,
            s3.PublicBaseUrl is null || IsHttpUrl(s3.PublicBaseUrl),
            "Archive:S3:PublicBaseUrl must be an absolute http or https URL without user info when set.");
    }

    private static void FileSystemProblems(List<string> problems, FileSystemStoreOptions fileSystem)
    {
        Require(problems, !string.IsNullOrWhiteSpace(fileSystem.Root), "Archive:FileSystem:Root must be set when Archive:Store is filesystem.");
        Require(
            problems,
            fileSystem.PublicBaseUrl is not null && IsHttpUrl(fileSystem.PublicBaseUrl),
            "Archive:FileSystem:PublicBaseUrl must be set to the absolute http or https URL the directory is served at (the Host's /files) when Archive:Store is filesystem.");
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.UserInfo)
        && string.IsNullOrEmpty(uri.Query)
        && string.IsNullOrEmpty(uri.Fragment);

    private static void Require(List<string> problems, bool holds, string problem)
    {
        if (!holds)
        {
            problems.Add(problem);
        }
    }
}
