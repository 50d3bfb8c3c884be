using BenchmarkDotNet.Attributes;
using EventImaging.Benchmarks.Infrastructure;
using EventImaging.Contracts;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Providers;
using EventImaging.Core.Providers.Evolink;
using EventImaging.Core.Providers.GptImage15;
using EventImaging.Core.Requests;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace EventImaging.Benchmarks.Sections;

/// <summary>
/// The per-message CPU work on the hot paths: callback tokens (DataProtection's default algorithms, as with the
/// database key ring), both providers' body parsers on the simulator's bodies, and the GenerateImage validator.
/// </summary>
public class MicroBenchmarks
{
    private readonly Guid requestId = Guid.NewGuid();
    private readonly DateTimeOffset deadline = DateTimeOffset.UtcNow.AddMinutes(30);
    private CallbackTokens tokens = null!;
    private string token = null!;
    private EvolinkClient evolink = null!;
    private GptImage15Client gptImage15 = null!;
    private GenerateImageValidator validator = null!;
    private RequestRouter router = null!;
    private GenerateImage command = null!;

    /// <summary>The simulator's bodies, captured by the run before BenchmarkDotNet starts (it runs in this process).</summary>
    internal static ProviderBodies? Bodies { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        tokens = new CallbackTokens(new EphemeralDataProtectionProvider(), Options.Create(new CallbackOptions()));
        token = tokens.Mint(requestId, "evolink", deadline);
        evolink = new EvolinkClient(new HttpClient(), Options.Create(new EvolinkOptions()));
        gptImage15 = new GptImage15Client(new HttpClient(), Options.Create(new GptImage15Options()));
        validator = new GenerateImageValidator(TimeProvider.System, Options.Create(new RequestOptions()));
        router = new RequestRouter(new ProviderRegistry([evolink, gptImage15]), Options.Create(new ProvidersOptions()));
        command = new GenerateImage
        {
            RequestId = requestId,
            Prompt = "A lighthouse at dusk, oil painting",
            Size = "1536x1024",
            Quality = "high",
            ImageUrls = ["https://images.example.com/reference.png"],
            Deadline = deadline,
            Metadata = new Dictionary<string, string> { ["order"] = "42", ["tenant"] = "benchmark" },
        };
    }

    [Benchmark(Description = "callback token: mint (protect)")]
    public string TokenMint() => tokens.Mint(requestId, "evolink", deadline);

    [Benchmark(Description = "callback token: read (unprotect)")]
    public Guid? TokenRead() => tokens.Read(token, "evolink");

    [Benchmark(Description = "evolink task body (callback = status)")]
    public ProviderTask EvolinkTask() => evolink.ParseCallback(Bodies!.EvolinkTask);

    [Benchmark(Description = "gptimage15 status body (default callback)")]
    public ProviderTask GptImage15Status() => gptImage15.ParseCallback(Bodies!.GptImage15Status);

    [Benchmark(Description = "gptimage15 data-only callback body")]
    public ProviderTask GptImage15Data() => gptImage15.ParseCallback(Bodies!.GptImage15Data);

    [Benchmark(Description = "GenerateImage route + validate")]
    public bool Validate() => validator.Validate(router.Route(command)).IsValid;
}
