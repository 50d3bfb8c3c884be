using EventImaging.Core.Archiving;

namespace EventImaging.UnitTests.Archiving;

public sealed class ArchiveOptionsValidationTests
{
    [Fact]
    public void The_defaults_are_valid_and_archiving_is_off()
    {
        var options = new ArchiveOptions();

        Assert.Empty(ArchiveOptionsValidation.Problems(options));
        Assert.False(options.IsOn);
    }

    [Fact]
    public void With_the_store_off_nothing_else_is_checked()
    {
        var options = new ArchiveOptions { Store = "none", MaxAttempts = 0, S3 = { Bucket = null } };

        Assert.Empty(ArchiveOptionsValidation.Problems(options));
    }

    [Fact]
    public void An_unknown_store_is_named()
    {
        var problem = Assert.Single(ArchiveOptionsValidation.Problems(new ArchiveOptions { Store = "gcs" }));

        Assert.Equal("Archive:Store must be none, s3 or filesystem (it is 'gcs').", problem);
    }

    [Fact]
    public void A_complete_s3_store_is_valid_with_or_without_keys()
    {
        Assert.Empty(ArchiveOptionsValidation.Problems(S3(s3 => { })));
        Assert.Empty(ArchiveOptionsValidation.Problems(S3(s3 => (s3.AccessKey, s3.SecretKey) = (null, null))));
        Assert.Empty(ArchiveOptionsValidation.Problems(S3(s3 => (s3.ServiceUrl, s3.PublicBaseUrl) = (null, "https://cdn.example.com/images"))));
        Assert.Empty(ArchiveOptionsValidation.Problems(S3(s3 => s3.PresignedUrlLifetime = TimeSpan.FromDays(7))));
    }

    [Theory]
    [InlineData("bucket", "Archive:S3:Bucket must be set when Archive:Store is s3.")]
    [InlineData("access-only", "Archive:S3:AccessKey and Archive:S3:SecretKey must be set together, or both left unset for the SDK's default credentials.")]
    [InlineData("secret-only", "Archive:S3:AccessKey and Archive:S3:SecretKey must be set together, or both left unset for the SDK's default credentials.")]
    [InlineData("relative-url", "Archive:S3:ServiceUrl must be an absolute http or https URL without user info when set.")]
    [InlineData("ftp-url", "Archive:S3:ServiceUrl must be an absolute http or https URL without user info when set.")]
    [InlineData("user-info", "Archive:S3:ServiceUrl must be an absolute http or https URL without user info when set.")]
    [InlineData("zero-lifetime", "Archive:S3:PresignedUrlLifetime must be more than 0 and at most 7 days (SigV4's limit).")]
    [InlineData("long-lifetime", "Archive:S3:PresignedUrlLifetime must be more than 0 and at most 7 days (SigV4's limit).")]
    [InlineData("public-relative", "Archive:S3:PublicBaseUrl must be an absolute http or https URL without user info when set.")]
    [InlineData("region", "Archive:S3:Region must be set (us-east-1 for most S3-compatible servers).")]
    public void A_wrong_s3_setting_is_the_one_problem_named(string wrong, string expected)
    {
        var options = S3(s3 =>
        {
            switch (wrong)
            {
                case "bucket": s3.Bucket = " "; break;
                case "access-only": s3.SecretKey = null; break;
                case "secret-only": s3.AccessKey = null; break;
                case "relative-url": s3.ServiceUrl = "minio:9000"; break;
                case "ftp-url": s3.ServiceUrl = "ftp://minio:9000"; break;
                case "user-info": s3.ServiceUrl = "http://key:secret@minio:9000"; break;
                case "zero-lifetime": s3.PresignedUrlLifetime = TimeSpan.Zero; break;
                case "long-lifetime": s3.PresignedUrlLifetime = TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1); break;
                case "public-relative": s3.PublicBaseUrl = "/images"; break;
                case "region": s3.Region = ""; break;
            }
        });

        var problem = Assert.Single(ArchiveOptionsValidation.Problems(options));
        Assert.Equal(expected, problem);
        Assert.DoesNotContain("secret", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_filesystem_store_needs_its_root_and_an_absolute_public_base_url()
    {
        var valid = new ArchiveOptions { Store = "FileSystem", FileSystem = { Root = "/var/lib/eventimaging/images", PublicBaseUrl = "http://localhost:8080/files" } };
        Assert.Empty(ArchiveOptionsValidation.Problems(valid));

        var problems = ArchiveOptionsValidation.Problems(new ArchiveOptions { Store = "filesystem", FileSystem = { PublicBaseUrl = "/files" } });

        Assert.Equal(
            [
                "Archive:FileSystem:Root must be set when Archive:Store is filesystem.",
                "Archive:FileSystem:PublicBaseUrl must be set to the absolute http or https URL the directory is served at (the Host's /files) when Archive:Store is filesystem.",
            ],
            problems);
    }

    [Fact]
    public void The_copy_settings_must_be_positive_when_archiving_is_on()
    {
        var options = S3(_ => { });
        options.MaxAttempts = 0;
        options.MaxBytes = -1;
        options.RetryInitialInterval = TimeSpan.Zero;
        options.RetryMaxInterval = TimeSpan.FromSeconds(-1);
        options.ConnectTimeout = TimeSpan.Zero;
        options.ReadTimeout = TimeSpan.Zero;

        Assert.Equal(
            [
                "Archive:MaxAttempts must be greater than 0.",
                "Archive:MaxBytes must be greater than 0.",
                "Archive:RetryInitialInterval must be positive.",
                "Archive:RetryMaxInterval must be at least Archive:RetryInitialInterval.",
                "Archive:ConnectTimeout must be positive.",
                "Archive:ReadTimeout must be positive.",
            ],
            ArchiveOptionsValidation.Problems(options));
    }

    private static ArchiveOptions S3(Action<S3StoreOptions> change)
    {
        var options = new ArchiveOptions
        {
            Store = "s3",
            S3 = { ServiceUrl = "http://minio:9000", Bucket = "images", AccessKey = "AKIAEXAMPLE", SecretKey = "example-secret" },
        };
        change(options.S3);
        return options;
    }
}
