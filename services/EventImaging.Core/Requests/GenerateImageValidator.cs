using EventImaging.Contracts;
using FluentValidation;

namespace EventImaging.Core.Requests;

/// <summary>
/// The rules a <see cref="GenerateImage"/> must meet before any provider call, per the chosen provider and
/// model's documented limits. Every message names the offending field in the contract's spelling.
/// </summary>
public sealed class GenerateImageValidator : AbstractValidator<RoutedCommand>
{
    public const int MaxMetadataEntries = 32;
    public const int MaxMetadataKeyLength = 64;
    public const int MaxMetadataValueLength = 1024;

    public GenerateImageValidator(TimeProvider clock)
    {
        RuleFor(x => x.Command.RequestId).NotEqual(Guid.Empty).WithMessage("requestId is required and must be a non-empty GUID.");

        RuleFor(x => x.Client).NotNull()
            .WithMessage(x => $"provider '{x.Provider}' is not available (known and configured: see Providers settings).");

        RuleFor(x => x.Model).NotNull().When(x => x.Client is not null)
            .WithMessage(x => $"model '{x.RequestedModel}' is not offered by provider '{x.Provider}'.");

        RuleFor(x => x.Command.Prompt)
            .Must(p => !string.IsNullOrWhiteSpace(p)).WithMessage("prompt is required and must not be blank.");
        RuleFor(x => x.Command.Prompt)
            .Must((x, p) => p is null || p.Length <= x.Client!.Capabilities.MaxPromptLength)
            .When(x => x.Client is not null)
            .WithMessage(x => $"prompt is {x.Command.Prompt?.Length} characters; provider '{x.Provider}' accepts at most {x.Client!.Capabilities.MaxPromptLength}.");

        When(x => x.Client is not null && x.Model is not null, () =>
        {
            RuleFor(x => x.Command.Size)
                .Must((x, size) => size is null || x.Client!.Capabilities.Models[x.Model!].Sizes.Contains(size))
                .WithMessage(x => $"size '{x.Command.Size}' is not one of {string.Join(", ", x.Client!.Capabilities.Models[x.Model!].Sizes)} for {x.Provider} {x.Model}.");
            RuleFor(x => x.Command.Quality)
                .Must((x, quality) => quality is null || x.Client!.Capabilities.Models[x.Model!].Qualities.Contains(quality))
                .WithMessage(x => $"quality '{x.Command.Quality}' is not one of {string.Join(", ", x.Client!.Capabilities.Models[x.Model!].Qualities)} for {x.Provider} {x.Model}.");
        });

        RuleFor(x => x.Command.ImageUrls)
            .Must(urls => urls!.Length >= 1).When(x => x.Command.ImageUrls is not null)
            .WithMessage("imageUrls must hold at least one URL when present.");
        RuleFor(x => x.Command.ImageUrls)
            .Must((x, urls) => urls!.Length <= (x.Client?.Capabilities.MaxImageUrls ?? 16)).When(x => x.Command.ImageUrls is not null)
            .WithMessage(x => $"imageUrls holds {x.Command.ImageUrls!.Length} URLs; at most {x.Client?.Capabilities.MaxImageUrls ?? 16} are accepted.");
        RuleForEach(x => x.Command.ImageUrls)
            .Must(url => PublicUrlRules.Check(url) is null)
            .WithMessage((_, url) => $"imageUrls entry '{Shorten(url)}' {PublicUrlRules.Check(url)}.");

        RuleFor(x => x.Command.InputFidelity)
            .Must(f => f is "low" or "high").When(x => x.Command.InputFidelity is not null)
            .WithMessage(x => $"inputFidelity '{x.Command.InputFidelity}' is not one of low, high.");
        RuleFor(x => x.Command.InputFidelity)
            .Null().When(x => x.Client is not null && !x.Client.Capabilities.SupportsInputFidelity)
            .WithMessage(x => $"inputFidelity is not supported by provider '{x.Provider}'.");
        RuleFor(x => x.Command.InputFidelity)
            .Null().When(x => x.Command.ImageUrls is null or { Length: 0 })
            .WithMessage("inputFidelity applies only to image-to-image requests (with imageUrls).");

        RuleFor(x => x.Command.Deadline)
            .Must(deadline => deadline > clock.GetUtcNow()).When(x => x.Command.Deadline is not null)
            .WithMessage("deadline is in the past.");

        RuleFor(x => x.Command.Metadata)
            .Must(m => m!.Count <= MaxMetadataEntries
                && m.All(e => e.Key.Length is > 0 and <= MaxMetadataKeyLength && (e.Value?.Length ?? 0) <= MaxMetadataValueLength))
            .When(x => x.Command.Metadata is not null)
            .WithMessage($"metadata must hold at most {MaxMetadataEntries} entries, keys of 1 to {MaxMetadataKeyLength} characters and values of at most {MaxMetadataValueLength}.");
    }

    private static string Shorten(string? url) => url is { Length: > 80 } ? string.Concat(url.AsSpan(0, 77), "...") : url ?? "";
}
