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

    /// <summary>
    /// The providers after <paramref name="current"/> in the configured failover order that are available,
    /// each with the command routed to it. Only for commands that named no provider.
    /// </summary>
    public IEnumerable<RoutedCommand> FailoverAfter(GenerateImage command, string current)
    {
        if (!string.IsNullOrWhiteSpace(command.Provider))
        {
            yield break;
        }

        var order = options.Value.Failover;
        var position = Array.FindIndex(order, p => string.Equals(p, current, StringComparison.OrdinalIgnoreCase));
        foreach (var candidate in order.Skip(position + 1))
        {
            var routed = Route(command with { Provider = candidate });
            if (routed.Client is not null && routed.Model is not null)
            {
                yield return routed;
            }
        }
    }
}
