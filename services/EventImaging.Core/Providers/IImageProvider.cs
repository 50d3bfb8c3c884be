namespace EventImaging.Core.Providers;

/// <summary>A hosted image API: create a task, query it, read its callback body.</summary>
public interface IImageProvider
{
    /// <summary>The name requests use: <c>evolink</c>, <c>gptimage15</c>.</summary>
    string Name { get; }

    ProviderCapabilities Capabilities { get; }

    /// <summary>Creates the task. Throws <see cref="ProviderException"/> for every failure the provider or the network reports.</summary>
    Task<ProviderTask> CreateAsync(ProviderSubmission submission, CancellationToken cancellationToken);

    /// <summary>Reads the task's current state. Throws <see cref="ProviderException"/>.</summary>
    Task<ProviderTask> GetAsync(string taskId, CancellationToken cancellationToken);

    /// <summary>Reads a callback body. Throws <see cref="ProviderPayloadException"/> for a body it cannot understand.</summary>
    ProviderTask ParseCallback(ReadOnlySpan<byte> body);
}
