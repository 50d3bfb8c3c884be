using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventImaging.ProviderSimulator;

namespace EventImaging.Benchmarks.Infrastructure;

/// <summary>
/// Provider bodies exactly as the simulator writes them: a finished evolink task (its callback body is its status
/// body) and a finished gptimage15 status response, whole and as the bare <c>data</c> object (the callback shapes).
/// </summary>
internal sealed partial record ProviderBodies(string EvolinkTemplate, byte[] EvolinkTask, byte[] GptImage15Status, byte[] GptImage15Data)
{
    /// <summary>Stands for the task id in <see cref="EvolinkTemplate"/>.</summary>
    public const string TaskIdPlaceholder = "{task-id}";

    /// <summary>The evolink callback body for one task.</summary>
    public byte[] EvolinkCallbackFor(string taskId) => Encoding.UTF8.GetBytes(EvolinkTemplate.Replace(TaskIdPlaceholder, taskId, StringComparison.Ordinal));

    /// <summary>
    /// The evolink callback body for one task whose result PNG the simulator pads to about <paramref name="fileBytes"/>:
    /// its result URL gains <c>bytes=N</c>, as the simulator writes it for a task with <c>Simulator:ResultFileBytes</c>.
    /// </summary>
    public byte[] EvolinkCallbackFor(string taskId, int fileBytes)
    {
        var body = EvolinkTemplate.Replace(TaskIdPlaceholder, taskId, StringComparison.Ordinal);
        var padded = ResultFileUrl().Replace(
            body,
            match => match.Groups["query"].Success ? $"{match.Groups["file"].Value}?bytes={fileBytes}&" : $"{match.Groups["file"].Value}?bytes={fileBytes}",
            1);
        return padded == body
            ? throw new InvalidOperationException($"The simulator's evolink body names no result file URL to pad: {body}")
            : Encoding.UTF8.GetBytes(padded);
    }

    [GeneratedRegex(@"(?<file>/simulator/files/[^""?\\]+\.png)(?<query>\?)?")]
    private static partial Regex ResultFileUrl();

    public static async Task<ProviderBodies> CaptureAsync(Uri simulator, SimulatorState state)
    {
        var knobs = state.Knobs;
        state.UpdateKnobs(k => k with { CompletionDelayMs = 0 });
        try
        {
            using var http = new HttpClient { BaseAddress = simulator };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Settings.ApiKey);

            using var evolinkCreate = await http.PostAsJsonAsync(
                new Uri("/evolink/v1/images/generations", UriKind.Relative),
                new { model = "gpt-image-1.5", prompt = "A lighthouse at dusk, oil painting", size = "1024x1024", quality = "high", n = 1 });
            evolinkCreate.EnsureSuccessStatusCode();
            var evolinkId = (await evolinkCreate.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            var evolinkTask = await http.GetStringAsync(new Uri($"/evolink/v1/tasks/{evolinkId}", UriKind.Relative));
            Require(evolinkTask, "\"completed\"");

            using var gptCreate = await http.PostAsJsonAsync(
                new Uri("/gptimage15/api/generate", UriKind.Relative),
                new { prompt = "A lighthouse at dusk, oil painting", size = "1024*1024", quality = "high" });
            gptCreate.EnsureSuccessStatusCode();
            var gptId = (await gptCreate.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetProperty("task_id").GetString()!;
            var gptStatus = await http.GetStringAsync(new Uri($"/gptimage15/api/status?task_id={gptId}", UriKind.Relative));
            Require(gptStatus, "\"SUCCESS\"");
            using var status = JsonDocument.Parse(gptStatus);

            return new ProviderBodies(
                evolinkTask.Replace(evolinkId, TaskIdPlaceholder, StringComparison.Ordinal),
                Encoding.UTF8.GetBytes(evolinkTask),
                Encoding.UTF8.GetBytes(gptStatus),
                Encoding.UTF8.GetBytes(status.RootElement.GetProperty("data").GetRawText()));
        }
        finally
        {
            state.SetKnobs(knobs);
        }
    }

    private static void Require(string body, string expected)
    {
        if (!body.Contains(expected, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The simulator's finished task has no {expected}: {body}");
        }
    }
}
