using System.Diagnostics;
using EventImaging.Contracts;
using EventImaging.IntegrationTests.Pipeline;
using Xunit.Abstractions;

namespace EventImaging.IntegrationTests.Telemetry;

/// <summary>Operators follow each request as one trace, from the publisher's command to the final event.</summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class RequestTraceTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    [Theory]
    [InlineData(CompletionPaths.Callback)]
    [InlineData(CompletionPaths.Poll)]
    public async Task One_trace_leads_from_the_command_to_the_terminal_event(string via)
    {
        var telemetry = new TelemetryCapture();
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = PipelineEnvironment.FirstPollGraceForBothPaths,
        }, telemetry: telemetry, output: output);
        using var source = new ActivitySource(PipelineEnvironment.TestSource);
        var requestId = Guid.NewGuid();
        ActivityTraceId traceId;
        using (var publisher = source.StartActivity("publisher sends GenerateImage"))
        {
            Assert.NotNull(publisher);
            traceId = publisher.TraceId;
            var marker = via == CompletionPaths.Poll ? "[sim:no-callback]" : "";
            await env.PublishAsync(new GenerateImage { RequestId = requestId, Prompt = $"Traced {marker} {requestId:N}" });
        }

        var terminal = await env.Events.TerminalAsync(requestId);
        Assert.Equal(via, terminal.Text("completedVia"));
        // The finishing span ("callback" or "poll") encloses the publish, so it ends, and is exported, after it.
        await Eventually.UntilAsync(
            () => Task.FromResult(
                telemetry.Spans().Any(s => s.DisplayName.Contains("ImageCompleted", StringComparison.Ordinal))
                && telemetry.Spans().Any(s => s.Source.Name == "EventImaging" && s.DisplayName == via)),
            TimeSpan.FromSeconds(10),
            $"the ImageCompleted publish span and the enclosing {via} span to be exported");

        var all = telemetry.Spans();
        PrintTree(all.Where(s => s.TraceId == traceId).ToList());

        var finishing = Assert.Single(all, s => s.Source.Name == "EventImaging" && s.DisplayName == via);
        Assert.Equal(traceId, finishing.TraceId);
        Assert.Equal(requestId.ToString(), finishing.GetTagItem("eventimaging.request_id"));
        Assert.Contains(all, s => s.DisplayName.Contains("ImageCompleted", StringComparison.Ordinal) && s.TraceId == traceId);
        Assert.Contains(all, s => s.Source.Name == "EventImaging" && s.DisplayName == "submit" && s.TraceId == traceId);
        foreach (var transition in new[] { "ledger received", "ledger submitted", "ledger completed" })
        {
            Assert.Contains(all, s => s.DisplayName == transition && s.TraceId == traceId && s.GetTagItem("eventimaging.transition_won") is true);
        }

        // No secret in any span: neither the callback token nor the provider key.
        var token = env.CallbackTokenOf(requestId);
        foreach (var span in all)
        {
            var texts = span.TagObjects.Select(t => t.Value?.ToString() ?? "").Append(span.DisplayName).Append(span.StatusDescription ?? "");
            Assert.DoesNotContain(texts, text => text.Contains(token, StringComparison.Ordinal) || text.Contains(PipelineEnvironment.ApiKey, StringComparison.Ordinal));
        }
    }

    /// <summary>The trace as an indented span tree, with each span's offset from the trace's start.</summary>
    private void PrintTree(List<Activity> trace)
    {
        var start = trace.Min(s => s.StartTimeUtc);
        var ids = trace.Select(s => s.SpanId).ToHashSet();
        void Print(Activity span, int depth)
        {
            var tags = span.TagObjects.Where(t => t.Key.StartsWith("eventimaging.", StringComparison.Ordinal)).Select(t => $"{t.Key[13..]}={t.Value}");
            output.WriteLine($"{new string(' ', depth * 2)}{span.DisplayName} ({span.Source.Name}) +{(span.StartTimeUtc - start).TotalMilliseconds:F0} ms, {span.Duration.TotalMilliseconds:F1} ms {string.Join(" ", tags)}");
            foreach (var child in trace.Where(c => c.ParentSpanId == span.SpanId).OrderBy(c => c.StartTimeUtc))
            {
                Print(child, depth + 1);
            }
        }

        foreach (var root in trace.Where(s => !ids.Contains(s.ParentSpanId)).OrderBy(s => s.StartTimeUtc))
        {
            Print(root, 0);
        }
    }
}
