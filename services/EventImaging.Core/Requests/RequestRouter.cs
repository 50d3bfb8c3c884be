using EventImaging.Contracts;
using EventImaging.Core.Providers;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Requests;

/// <summary>Chooses the provider and model for a command: the ones it names, else the configured defaults.</summary>
public sealed class RequestRouter(ProviderRegistry providers, IOptions<ProvidersOptions> options)
{
    public RoutedCommand Route(GenerateImage command)
    {
        var provider = string.IsNullOrWhiteSpace(command.Provider) ? options.Value.Default : command.Provider.Trim().ToLowerInvariant();
        var client = providers.Find(provider);
        var requestedModel = string.IsNullOrWhiteSpace(command.Model) ? options.Value.DefaultModel : command.Model.Trim();
        var model = client?.Capabilities.ResolveModel(requestedModel);
        return new RoutedCommand(command, provider, client, requestedModel, model);
    }
}
