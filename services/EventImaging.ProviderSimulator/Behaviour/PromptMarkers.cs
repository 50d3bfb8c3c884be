using System.Globalization;
using System.Text.RegularExpressions;

namespace EventImaging.ProviderSimulator.Behaviour;

/// <summary>
/// Per-request behaviour written into the prompt as <c>[sim:name=value;name2]</c>, so a caller
/// that can only send a real provider request (the product's own clients) can still steer the
/// simulator. Markers stay in the stored prompt: the simulator must not alter what it received.
/// </summary>
internal sealed partial record PromptMarkers
{
    public int? DelayMs { get; init; }
    public bool Fail { get; init; }
    public string? FailCode { get; init; }
    public bool FailWithoutError { get; init; }
    public bool Cancel { get; init; }
    public bool NeverFinish { get; init; }
    public int? CreateErrorStatus { get; init; }
    public int? CreateErrorTimes { get; init; }
    public int? RetryAfterSeconds { get; init; }
    public bool NoCallback { get; init; }
    public int? Callbacks { get; init; }
    public int? QueryErrorStatus { get; init; }
    public int? QueryErrorCount { get; init; }
    public int? QueryErrorMs { get; init; }
    public int? LatencyMs { get; init; }
    public int? CreateLatencyMs { get; init; }
    public GptImage15Shape? Shape { get; init; }
    public bool BrokenFile { get; init; }
    public int? FileBytes { get; init; }
    public int? FileSlowMs { get; init; }
    public int? UrlLifetimeMs { get; init; }

    /// <summary>Directives that were not understood; logged, never fatal.</summary>
    public IReadOnlyList<string> Ignored { get; init; } = [];

    public static readonly PromptMarkers None = new();

    public static PromptMarkers Parse(string? prompt)
    {
        if (string.IsNullOrEmpty(prompt) || !prompt.Contains("[sim:", StringComparison.OrdinalIgnoreCase))
        {
            return None;
        }

        var markers = new PromptMarkers();
        var ignored = new List<string>();
        foreach (Match match in MarkerPattern().Matches(prompt))
        {
            foreach (var directive in match.Groups[1].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = directive.IndexOf('=', StringComparison.Ordinal);
                var name = (equals < 0 ? directive : directive[..equals]).Trim().ToLowerInvariant();
                var value = equals < 0 ? null : directive[(equals + 1)..].Trim();
                var next = Apply(markers, name, value);
                if (next is null)
                {
                    ignored.Add(directive);
                }
                else
                {
                    markers = next;
                }
            }
        }

        return markers with { Ignored = ignored };
    }

    private static PromptMarkers? Apply(PromptMarkers m, string name, string? value) => name switch
    {
        "delay" => Int(value) is { } v ? m with { DelayMs = v } : null,
        "fail" => m with { Fail = true, FailCode = string.IsNullOrEmpty(value) ? "content_policy_violation" : value },
        "fail-without-error" when value is null => m with { Fail = true, FailWithoutError = true },
        "cancel" when value is null => m with { Cancel = true },
        "never-finish" when value is null => m with { NeverFinish = true },
        "create-error" => Status(value) is { } v ? m with { CreateErrorStatus = v } : null,
        "create-error-times" => Int(value) is { } v ? m with { CreateErrorTimes = v } : null,
        "retry-after" => Int(value) is { } v ? m with { RetryAfterSeconds = v } : null,
        "no-callback" when value is null => m with { NoCallback = true },
        "callbacks" => Int(value) is { } v ? m with { Callbacks = v } : null,
        "query-error" => Status(value) is { } v ? m with { QueryErrorStatus = v } : null,
        "query-error-count" => Int(value) is { } v ? m with { QueryErrorCount = v } : null,
        "query-error-ms" => Int(value) is { } v ? m with { QueryErrorMs = v } : null,
        "latency" => Int(value) is { } v ? m with { LatencyMs = v } : null,
        "create-latency" => Int(value) is { } v ? m with { CreateLatencyMs = v } : null,
        "shape" => ParseShape(value) is { } shape ? m with { Shape = shape } : null,
        "file" when value is "broken" => m with { BrokenFile = true },
        "file-bytes" => Int(value) is { } v ? m with { FileBytes = v } : null,
        "file-slow" => Int(value) is { } v ? m with { FileSlowMs = v } : null,
        "url-lifetime" => Int(value) is { } v ? m with { UrlLifetimeMs = v } : null,
        _ => null,
    };

    private static GptImage15Shape? ParseShape(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var shape = new GptImage15Shape();
        foreach (var flag in value.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            shape = flag.ToLowerInvariant() switch
            {
                "documented" => shape,
                "numeric-status" => shape with { NumericStatus = true },
                "string-response" => shape with { ResponseAsString = true },
                "consumed-credit" => shape with { SingularCreditField = true },
                "plain-time" => shape with { PlainTimestamps = true },
                "data-callback" => shape with { CallbackDataOnly = true },
                _ => null,
            };
            if (shape is null)
            {
                return null;
            }
        }

        return shape;
    }

    private static int? Int(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static int? Status(string? value) =>
        Int(value) is { } v && SimulatorKnobs.InjectableStatuses.Contains(v) ? v : null;

    [GeneratedRegex(@"\[sim:([^\]]*)\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MarkerPattern();
}
