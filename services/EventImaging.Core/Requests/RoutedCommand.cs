using EventImaging.Contracts;
using EventImaging.Core.Providers;

namespace EventImaging.Core.Requests;

/// <summary>A command with its provider and model resolved (from the command, else the configured defaults).</summary>
public sealed record RoutedCommand(GenerateImage Command, string Provider, IImageProvider? Client, string RequestedModel, string? Model)
{
    /// <summary>The model as events should name it: the canonical one when it resolved.</summary>
    public string ModelForEvents => Model ?? RequestedModel;
}
