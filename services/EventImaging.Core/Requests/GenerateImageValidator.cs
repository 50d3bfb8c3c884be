using EventImaging.Contracts;
using EventImaging.Core.Messaging;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.Extensions.Options;

namespace EventImaging.Core.Requests;

/// <summary>
/// The rules a <see cref="GenerateImage"/> must meet before any provider call, per the chosen provider and
/// model's documented limits. Every message names the offending field in the contract's spelling.
/// </summary>
public sealed class GenerateImageValidator : AbstractValidator<RoutedCommand>
{
    public GenerateImageValidator(TimeProvider clock, IOptions<RequestOptions> options)
    {
        // Fields whose JSON could not be read as their type (see GenerateImageJson): named first, one message each.
        RuleFor(x => x.Command).Custom((command, context) =>
        {
            foreach (var error in (command as PartlyReadGenerateImage)?.FieldErrors ?? [])
            {
                context.AddFailure(error);
            }
        });

        RuleFor(x => x.Command.RequestId).NotEqual(Guid.Empty).WithMessage("requestId is required and must be a non-empty GUID.");

        RuleFor(x => x.Client).NotNull()
            .WithMessage(x => $"provider '{CallerText.Shorten(x.Provider)}' is not available (known and configured: see Providers settings).");

        RuleFor(x => x.Model).NotNull().When(x => x.Client is not null)
            .WithMessage(x => $"model '{CallerText.Shorten(x.RequestedModel)}' is not offered by provider '{x.Provider}'.");

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
                .WithMessage(x => $"size '{CallerText.Shorten(x.Command.Size)}' is not one of {string.Join(", ", x.Client!.Capabilities.Models[x.Model!].Sizes)} for {x.Provider} {x.Model}.");
            RuleFor(x => x.Command.Quality)
                .Must((x, quality) => quality is null || x.Client!.Capabilities.Models[x.Model!].Qualities.Contains(quality))
                .WithMessage(x => $"quality '{CallerText.Shorten(x.Command.Quality)}' is not one of {string.Join(", ", x.Client!.Capabilities.Models[x.Model!].Qualities)} for {x.Provider} {x.Model}.");
        });

        RuleFor(x => x.Command.ImageUrls)
            .Must(urls => urls!.Length >= 1).When(x => x.Command.ImageUrls is not null)
            .WithMessage("imageUrls must hold at least one URL when present.");
        RuleFor(x => x.Command.ImageUrls)
            .Must((x, urls) => urls!.Length <= (x.Client?.Capabilities.MaxImageUrls ?? 16)).When(x => x.Command.ImageUrls is not null)
            .WithMessage(x => $"imageUrls holds {x.Command.ImageUrls!.Length} URLs; at most {x.Client?.Capabilities.MaxImageUrls ?? 16} are accepted.");
        RuleForEach(x => x.Command.ImageUrls)
            .Must(url => PublicUrlRules.Check(url) is null)
            .WithMessage((_, url) => $"imageUrls entry '{CallerText.Shorten(url, 80)}' {PublicUrlRules.Check(url)}.");

        RuleFor(x => x.Command.InputFidelity)
            .Must(f => f is "low" or "high").When(x => x.Command.InputFidelity is not null)
            .WithMessage(x => $"inputFidelity '{CallerText.Shorten(x.Command.InputFidelity)}' is not one of low, high.");
        RuleFor(x => x.Command.InputFidelity)
            .Null().When(x => x.Client is not null && !x.Client.Capabilities.SupportsInputFidelity)
            .WithMessage(x => $"inputFidelity is not supported by provider '{x.Provider}'.");
        RuleFor(x => x.Command.InputFidelity)
            .Null().When(x => x.Command.ImageUrls is null or { Length: 0 })
            .WithMessage("inputFidelity applies only to image-to-image requests (with imageUrls).");

        RuleFor(x => x.Command.Deadline)
            .Must(deadline => deadline > clock.GetUtcNow()).When(x => x.Command.Deadline is not null)
            .WithMessage("deadline is in the past.");
        RuleFor(x => x.Command.Deadline)
            .Must(deadline => deadline <= clock.GetUtcNow() + options.Value.MaxDeadline).When(x => x.Command.Deadline is not null)
            .WithMessage($"deadline is more than {options.Value.MaxDeadline.TotalHours:0.##} hours ahead, the most accepted (Requests:MaxDeadline): no provider keeps a result longer.");

        RuleFor(x => x.Command.Metadata)
            .Must(MetadataRules.IsValid)
            .WithMessage(MetadataRules.Rule);
    }

    /// <summary>
    /// The reason an <c>ImageFailed</c> gives for an invalid command: its first few distinct errors and how many more,
    /// never more than <see cref="MaxReasonLength"/> characters however many fields (or image URLs) are wrong.
    /// </summary>
    public static string Reason(ValidationResult result)
    {
        const int shown = 5;
        // Each field's first error comes before any field's second, so one field's thousand errors hide no other field.
        var errors = result.Errors
            .Select((error, index) => (Field: FieldOf(error.PropertyName), error.ErrorMessage, index))
            .GroupBy(e => e.Field)
            .SelectMany(field => field.Select((error, rank) => (rank, error.index, error.ErrorMessage)))
            .OrderBy(e => e.rank).ThenBy(e => e.index)
            .Select(e => e.ErrorMessage)
            .Distinct()
            .ToList();
        var reason = "Invalid request: " + string.Join(" ", errors.Take(shown));
        if (errors.Count > shown)
        {
            reason += $" (and {errors.Count - shown} more errors)";
        }

        return CallerText.Shorten(reason, MaxReasonLength);
    }

    public const int MaxReasonLength = 2000;

    // "Command.ImageUrls[12]" and "Command.ImageUrls" are one field.
    private static string FieldOf(string propertyName)
    {
        var index = propertyName.IndexOf('[', StringComparison.Ordinal);
        return index < 0 ? propertyName : propertyName[..index];
    }
}
