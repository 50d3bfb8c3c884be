using System.Diagnostics;
using System.Net;
using EventImaging.Contracts;
using EventImaging.IntegrationTests.Pipeline;
using Xunit.Abstractions;

namespace EventImaging.IntegrationTests.Telemetry;

/// <summary>No secret leaves a service through its telemetry: not the callback token, a provider key, nor the operator key.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class TelemetrySecretsTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private const string OperatorKey = "operator-key-7f3a9c";

    [Fact]
    public async Task No_span_log_record_or_metric_label_of_a_full_run_carries_a_token_or_a_key()
    {
        var telemetry = new TelemetryCapture();
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = PipelineEnvironment.FirstPollGraceForBothPaths,
            ["Operator:ApiKey"] = OperatorKey,
            // Every line the services can write is scanned, the per-request successes at Debug included.
            ["Logging:LogLevel:EventImaging"] = "Debug",
        }, telemetry: telemetry, output: output);

        // A request finished by its callback, one by polling, one that fails at the provider.
        var called = Guid.NewGuid();
        var polled = Guid.NewGuid();
        var refused = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId = called, prompt = $"Called back {called:N}" });
        await env.PublishJsonAsync(new { requestId = polled, prompt = $"Polled [sim:no-callback] {polled:N}" });
        await env.PublishJsonAsync(new { requestId = refused, prompt = $"Refused [sim:fail=content_policy_violation] {refused:N}" });
        var tokens = new List<string>();
        foreach (var id in new[] { called, polled, refused })
        {
            await env.Events.TerminalAsync(id);
            tokens.Add(env.CallbackTokenOf(id));
        }

        // What an attacker or a broken provider sends: an altered token, a token for another provider, an unreadable body.
        var altered = tokens[0][..^4] + "AAAA";
        Assert.Equal(HttpStatusCode.NotFound, (await env.PostCallbackAsync("evolink", altered, "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await env.PostCallbackAsync("gptimage15", tokens[0], "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await env.PostCallbackAsync("evolink", tokens[1], "not json")).StatusCode);

        // Operators look a request up, with the key and with a wrong one.
        Assert.Equal(HttpStatusCode.OK, (await env.LookUpAsync(called, OperatorKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await env.LookUpAsync(called, OperatorKey + "x")).StatusCode);

        // Spans are exported as they end: a callback or poll span after the publish it encloses, a server span after
        // its response. Scan once the last of each has come.
        bool Finished(string path, Guid id) =>
            telemetry.Spans().Any(s => s.DisplayName == path && Equals(s.GetTagItem("eventimaging.request_id"), id.ToString()));
        await Eventually.UntilAsync(
            () => Task.FromResult(
                telemetry.Spans().Count(s => s.DisplayName.Contains("ImageCompleted", StringComparison.Ordinal)) >= 2
                && Finished(CompletionPaths.Callback, called)
                && Finished(CompletionPaths.Poll, polled)
                && telemetry.Spans().Any(s => s.Kind == ActivityKind.Server && Equals(s.GetTagItem("http.response.status_code"), 401))),
            TimeSpan.FromSeconds(10),
            "the spans of both completions and of the refused lookup to be exported");

        var spans = telemetry.Spans()
            .SelectMany(s => s.TagObjects.Select(t => $"{s.DisplayName} {t.Key}={t.Value}").Append($"{s.DisplayName} {s.StatusDescription}"))
            .ToList();
        var logs = telemetry.LogLines();
        var labels = telemetry.MetricLabels();
        output.WriteLine($"Scanned {telemetry.Spans().Count} spans ({spans.Count} attributes), {logs.Count} log records, {labels.Count} metric labels.");

        // The run exercised what it claims: callback and poll spans, state-change lines in scope, labelled metrics.
        Assert.Contains(telemetry.Spans(), s => s.DisplayName == CompletionPaths.Callback);
        Assert.Contains(telemetry.Spans(), s => s.DisplayName == CompletionPaths.Poll);
        Assert.Contains(logs, l => l.Contains("via callback", StringComparison.Ordinal) && l.Contains($"RequestId={called}", StringComparison.Ordinal) && l.Contains("ProviderTaskId=", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("token is not valid", StringComparison.Ordinal));
        Assert.Contains(labels, l => l.StartsWith("http.server.request.duration http.route=/callbacks/", StringComparison.Ordinal));

        var secrets = tokens.Append(altered).Append(PipelineEnvironment.ApiKey).Append(OperatorKey).ToList();
        foreach (var (kind, texts) in new[] { ("span", spans), ("log record", logs), ("metric label", labels) })
        {
            foreach (var text in texts)
            {
                var leaked = secrets.FirstOrDefault(secret => text.Contains(secret, StringComparison.Ordinal));
                Assert.True(leaked is null, $"A {kind} carries a secret: {text}");
            }
        }
    }
}
