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
        var spans = new List<Activity>();
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:00:01",
        }, spans: spans);
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
        await Eventually.UntilAsync(
            () => Task.FromResult(Snapshot(spans).Any(s => s.DisplayName.Contains("ImageCompleted", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10),
            "the ImageCompleted publish span to be exported");

        var all = Snapshot(spans);
        foreach (var span in all.OrderBy(s => s.StartTimeUtc))
        {
            output.WriteLine($"{span.TraceId} {span.ParentSpanId} {span.SpanId} {span.Source.Name} {span.DisplayName} [{string.Join(", ", span.TagObjects.Select(t => $"{t.Key}={t.Value}"))}]");
        }

        var finishing = Assert.Single(all, s => s.Source.Name == "EventImaging" && s.DisplayName == via);
        Assert.Equal(traceId, finishing.TraceId);
        Assert.Equal(requestId.ToString(), finishing.GetTagItem("eventimaging.request_id"));
        Assert.Contains(all, s => s.DisplayName.Contains("ImageCompleted", StringComparison.Ordinal) && s.TraceId == traceId);
        Assert.Contains(all, s => s.Source.Name == "EventImaging" && s.DisplayName == "submit" && s.TraceId == traceId);

        // No secret in any span: neither the callback token nor the provider key.
        var token = env.CallbackTokenOf(requestId);
        foreach (var span in all)
        {
            var texts = span.TagObjects.Select(t => t.Value?.ToString() ?? "").Append(span.DisplayName).Append(span.StatusDescription ?? "");
            Assert.DoesNotContain(texts, text => text.Contains(token, StringComparison.Ordinal) || text.Contains(PipelineEnvironment.ApiKey, StringComparison.Ordinal));
        }
    }

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
        {
            return [.. spans];
        }
    }
}
