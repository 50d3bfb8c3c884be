using System.Diagnostics.CodeAnalysis;

namespace EventImaging.Core.DeadLetters;

/// <summary>
/// A command queue whose dead letters operators may see, replay and purge, and its MassTransit error queue
/// (<c>{queue}_error</c>). Only these are ever addressed: a queue name from a URL is looked up here, never used as it is.
/// </summary>
[SuppressMessage("Naming", "CA1711", Justification = "It names a RabbitMQ queue, not a collection type.")]
public sealed record CommandQueue(string Name, string Command)
{
    /// <summary>The receive endpoint of <c>GenerateImageConsumer</c> (kebab-case endpoint names).</summary>
    public static CommandQueue GenerateImage { get; } = new("generate-image", nameof(Contracts.GenerateImage));

    /// <summary>The receive endpoint of the <c>CancelImage</c> consumer.</summary>
    public static CommandQueue CancelImage { get; } = new("cancel-image", nameof(Contracts.CancelImage));

    public static IReadOnlyList<CommandQueue> All { get; } = [GenerateImage, CancelImage];

    /// <summary>Where MassTransit moves the messages of <see cref="Name"/> it could not read or consume.</summary>
    public string ErrorQueue => Name + "_error";

    public static CommandQueue? Find(string name) => All.FirstOrDefault(q => string.Equals(q.Name, name, StringComparison.Ordinal));
}
