using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;
using EventImaging.IntegrationTests.Pipeline;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace EventImaging.IntegrationTests.Reliability;

/// <summary>
/// Generated and mutated commands and callback bodies through the real broker, database and receiver. Invariants: every
/// command whose requestId can be read ends in exactly one small terminal event; every other one lands once in the
/// error queue and is counted; callbacks behind valid tokens are answered 200, 400, 404 or 503, never 500, and never
/// cause a second event; valid commands keep being served throughout.
/// </summary>
/// <remarks>
/// CI runs a fixed seed. A long run: <c>EVENTIMAGING_PROPERTY_COMMANDS=20000 EVENTIMAGING_PROPERTY_SEED=7
/// EVENTIMAGING_TEST_TARGET=tests/EventImaging.IntegrationTests ./test.sh --filter FullyQualifiedName~CommandPropertyTests</c>.
/// </remarks>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class CommandPropertyTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly int Commands = SettingOr("EVENTIMAGING_PROPERTY_COMMANDS", 2000);
    private static readonly ulong Seed = (ulong)SettingOr("EVENTIMAGING_PROPERTY_SEED", 20261203);

    [Fact]
    public async Task Every_generated_command_with_a_readable_request_id_ends_once_and_the_rest_land_once_in_the_error_queue()
    {
        using var deadLettered = new DeadLetterCount();
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, output: output);
        env.Simulator.UpdateKnobs(k => k with { CompletionDelayMs = 50 });
        var pool = Enumerable.Range(0, 50).Select(i => new Guid($"00000000-0000-4000-8000-{i:D12}")).ToArray();
        var cases = CommandCase.Generator(pool).Array[Commands].Generate(new PCG(1, Seed), null, out _);

        await using var connection = await new ConnectionFactory { Uri = env.Broker }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var sentinels = new List<Guid>();
        for (var i = 0; i < cases.Length; i++)
        {
            var properties = new BasicProperties { ContentType = cases[i].ContentType, DeliveryMode = DeliveryModes.Persistent };
            await channel.BasicPublishAsync("EventImaging.Contracts:GenerateImage", "", mandatory: false, properties, Encoding.UTF8.GetBytes(cases[i].Body));
            if (i % 250 == 0)
            {
                // Valid commands among the noise: the pipeline keeps serving them.
                var sentinel = Guid.NewGuid();
                sentinels.Add(sentinel);
                await env.PublishJsonAsync(new { requestId = sentinel, prompt = $"Sentinel {sentinel:N}" });
            }
        }

        var keyed = cases.Where(c => c.Kind == CaseKind.Keyed).Select(c => c.RequestId).Distinct().ToArray();
        var unreadable = cases.Count(c => c.Kind == CaseKind.Unreadable);
        var unkeyed = cases.Count(c => c.Kind == CaseKind.Unkeyed);
        output.WriteLine($"seed {Seed}: {cases.Length} commands, {keyed.Length} distinct request ids, {unkeyed} without one, {unreadable} unreadable");
        // The generator covers every kind, so the invariants below are about something.
        Assert.True(keyed.Length > cases.Length / 2 && unkeyed > 0 && unreadable > 0, "the generated mix lacks a kind of command");

        var timeout = TimeSpan.FromSeconds(60 + (cases.Length / 20));
        await Eventually.UntilAsync(
            () => Task.FromResult(keyed.All(id => env.Events.TerminalFor(id).Count > 0) && sentinels.All(id => env.Events.TerminalFor(id).Count > 0)),
            timeout,
            "every command with a readable request id to end");
        await Eventually.UntilAsync(
            async () => await env.ErrorQueueDepthAsync() >= unreadable && deadLettered.Unreadable >= unreadable,
            timeout,
            $"the {unreadable} unreadable commands to reach the error queue and be counted");

        Assert.All(keyed, id =>
        {
            var terminal = env.Events.TerminalFor(id);
            // At least once, always the same event (a republish keeps the MessageId): never two outcomes.
            Assert.Single(terminal.Select(e => (e.Type, e.MessageId)).Distinct());
        });
        Assert.All(sentinels, id => Assert.Equal("ImageCompleted", env.Events.TerminalFor(id)[0].Type));
        Assert.All(env.Events.All, e => Assert.InRange(e.BodyBytes, 1, BadInputTests.MaxEventBytes));
        if (unkeyed > 0)
        {
            Assert.Contains(env.Events.All, e => e.Type == "ImageFailed" && e.RequestId == Guid.Empty);
        }

        Assert.Equal((uint)unreadable, await env.ErrorQueueDepthAsync());
        Assert.Equal(unreadable, deadLettered.Unreadable);
        var known = keyed.Concat(sentinels).Append(Guid.Empty).ToHashSet();
        Assert.All(env.Events.All, e => Assert.Contains(e.RequestId, known));
    }

    [Fact]
    public async Task Generated_callback_bodies_behind_valid_tokens_get_200_400_404_or_503_and_never_a_second_event()
    {
        await using var env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?>
        {
            ["Polling:FirstPollGrace"] = "00:10:00",
        }, output: output);
        var requests = new List<(Guid Id, string Provider, string TaskId, string Token)>();
        foreach (var provider in new[] { "evolink", "gptimage15" })
        {
            for (var i = 0; i < 10; i++)
            {
                var id = Guid.NewGuid();
                await env.PublishJsonAsync(new { requestId = id, provider, prompt = $"Callbacks [sim:never-finish] {id:N}" });
                requests.Add((id, provider, "", ""));
            }
        }

        for (var i = 0; i < requests.Count; i++)
        {
            await env.SubmittedAsync(requests[i].Id);
            var create = Assert.Single(env.CreatesFor(requests[i].Id.ToString("N")));
            requests[i] = requests[i] with { TaskId = create.TaskId!, Token = env.CallbackTokenOf(requests[i].Id) };
        }

        var bodies = CallbackCase.Generator.Array[Math.Max(500, Commands / 2)].Generate(new PCG(2, Seed), null, out _);
        var statuses = new ConcurrentDictionary<HttpStatusCode, int>();
        await Parallel.ForEachAsync(bodies.Select((body, index) => (body, index)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, _) =>
        {
            var target = requests[item.index % requests.Count];
            var body = item.body.Render(target.Provider, target.TaskId);
            using var response = await env.PostCallbackAsync(target.Provider, target.Token, body);
            statuses.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
        });

        output.WriteLine($"seed {Seed}: {bodies.Length} callbacks: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(int)s.Key}: {s.Value}"))}");
        Assert.All(statuses.Keys, status => Assert.Contains(status, new[] { HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.ServiceUnavailable }));
        Assert.True(statuses.GetValueOrDefault(HttpStatusCode.OK) > 0, "some generated callbacks are well-formed");
        foreach (var request in requests)
        {
            var row = (await env.RowAsync(request.Id))!;
            if (row.FinishedAt is not null)
            {
                await env.MarkedPublishedAsync(request.Id);
            }

            Assert.InRange(env.Events.TerminalFor(request.Id).Select(e => e.MessageId).Distinct().Count(), row.FinishedAt is null ? 0 : 1, row.FinishedAt is null ? 0 : 1);
            Assert.InRange(env.Events.TerminalFor(request.Id).Select(e => e.Type).Distinct().Count(), 0, 1);
        }
    }

    private static int SettingOr(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) ? value : fallback;

    /// <summary>Counts <c>eventimaging.commands.dead_lettered</c> with reason <c>unreadable</c> in this process.</summary>
    private sealed class DeadLetterCount : IDisposable
    {
        private readonly MeterListener listener = new();
        private int unreadable;

        public DeadLetterCount()
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "eventimaging.commands.dead_lettered")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag is { Key: "reason", Value: "unreadable" })
                    {
                        Interlocked.Add(ref unreadable, (int)value);
                    }
                }
            });
            listener.Start();
        }

        public int Unreadable => Volatile.Read(ref unreadable);

        public void Dispose() => listener.Dispose();
    }
}

public enum CaseKind
{
    /// <summary>A readable, non-empty requestId: exactly one terminal event is owed.</summary>
    Keyed,

    /// <summary>No requestId (missing, null or empty): answered with an ImageFailed that names none.</summary>
    Unkeyed,

    /// <summary>No requestId can be read (not JSON, not an object, not a GUID): the error queue, once.</summary>
    Unreadable,
}

/// <summary>One generated command body, with what the pipeline owes it.</summary>
public sealed record CommandCase(string Body, string ContentType, CaseKind Kind, Guid RequestId)
{
    private static readonly Gen<string> WrongTypes = Gen.OneOf("42", "-1e400", "1e999", "true", "{}", "[]", "{\"a\":1}", "[1,\"x\"]", "\"\"", "null");

    private static readonly Gen<string> Strings = Gen.OneOf(
        Gen.OneOf("A lighthouse at dusk", "", "   ", "🌊 灯台 مرحبا \u202e", "\u0000\u0001", "a\"b\\c", new string('p', 3000), new string('é', 2001)),
        Gen.String[0, 60]);

    private static readonly Gen<string> Sizes = Gen.OneOf("1024x1024", "1024x1536", "1:1", "3:2", "999x999", "", "1:1\u0000");

    private static readonly Gen<string> Qualities = Gen.OneOf("low", "medium", "high", "auto", "ultra");

    private static readonly Gen<string> Providers = Gen.OneOf("evolink", "gptimage15", " EvoLink ", "midjourney", new string('x', 500), "evo\u0000link", "\ud800x");

    private static readonly Gen<string> Models = Gen.OneOf("gpt-image-1.5", "gpt-image-1.5-beta", "gpt-image-1.5-lite", "dall-e-2", new string('m', 300), "gpt\u0000", "\udc00");

    private static readonly Gen<string> Deadlines = Gen.OneOf(
        Gen.Int[-120, 1500].Select(minutes => DateTimeOffset.UtcNow.AddMinutes(minutes).ToOffset(TimeSpan.FromHours(minutes % 14)).ToString("yyyy-MM-ddTHH:mm:sszzz")),
        Gen.OneOf("9999-12-31T23:30:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "tomorrow", "2026-13-45T99:00:00Z"));

    private static readonly Gen<string> Urls = Gen.OneOf(
        Gen.Int[0, 1_000_000].Select(i => $"https://images.example.com/{i}.png"),
        Gen.OneOf("http://images.example.com/a.png", "https://127.0.0.1/a.png", "https://localhost/a.png", "ftp://x/y", "not a url", "https://10.0.0.1/x.png"));

    private static readonly Gen<string> Metadata = Gen.OneOf(
        Gen.Int[0, 40].Select(n => JsonSerializer.Serialize(Enumerable.Range(0, n).ToDictionary(i => $"k{i}", i => new string('v', i * 30)))),
        Gen.OneOf("{\"order\":\"42\"}", "{\"n\":1}", "{\"\":\"empty key\"}", "{\"nested\":{\"a\":\"b\"}}"));

    private static Gen<string?> Field(Gen<string> good, int wrongPercent = 10) =>
        Gen.Frequency(
            (60, Gen.Const<string?>((string?)null)),
            (100 - wrongPercent, good.Select(v => (string?)JsonSerializer.Serialize(v))),
            (wrongPercent, WrongTypes.Select(v => (string?)v)));

    private static Gen<string?> RawField(Gen<string> goodJson) =>
        Gen.Frequency((60, Gen.Const<string?>((string?)null)), (35, goodJson.Select(v => (string?)v)), (5, WrongTypes.Select(v => (string?)v)));

    public static Gen<CommandCase> Generator(Guid[] pool)
    {
        var requestIds = Gen.Frequency(
            (70, Gen.Guid.Select(id => (Json: (string?)$"\"{id}\"", Kind: CaseKind.Keyed, Id: id))),
            (10, Gen.Int[0, pool.Length - 1].Select(i => (Json: (string?)$"\"{pool[i]}\"", Kind: CaseKind.Keyed, Id: pool[i]))),
            (4, Gen.Const((Json: (string?)null, Kind: CaseKind.Unkeyed, Id: Guid.Empty))),
            (2, Gen.Const((Json: (string?)"null", Kind: CaseKind.Unkeyed, Id: Guid.Empty))),
            (2, Gen.Const((Json: (string?)$"\"{Guid.Empty}\"", Kind: CaseKind.Unkeyed, Id: Guid.Empty))),
            (2, Gen.OneOf("\"not-a-guid\"", "42", "{}", "[]", "true").Select(json => (Json: (string?)json, Kind: CaseKind.Unreadable, Id: Guid.Empty))));
        var urls = Urls.Array[0, 20].Select(list => JsonSerializer.Serialize(list));
        var fields = Gen.Select(
            Field(Strings, 5), Field(Sizes), Field(Qualities), RawField(urls), Field(Qualities),
            Field(Providers), Field(Models), Field(Deadlines));
        return Gen.Select(requestIds, fields, RawField(Metadata), Gen.Int[0, 99], Gen.Bool, Gen.Guid, (id, f, metadata, mutation, envelope, messageId) =>
        {
            var members = new List<string>();
            void Add(string name, string? json)
            {
                if (json is not null)
                {
                    members.Add($"\"{name}\":{json}");
                }
            }

            Add("requestId", id.Json);
            Add("prompt", f.Item1);
            Add("size", f.Item2);
            Add("quality", f.Item3);
            Add("imageUrls", f.Item4);
            Add("inputFidelity", f.Item5);
            Add("provider", f.Item6);
            Add("model", f.Item7);
            Add("deadline", f.Item8);
            Add("metadata", metadata);
            if (mutation % 7 == 0)
            {
                members.Add("\"unknownField\":[1,2,{\"x\":null}]");
            }

            var message = "{" + string.Join(",", members) + "}";
            var kind = id.Kind;
            // A few bodies are broken on the way: cut short, or not an object at all.
            if (mutation < 3)
            {
                message = message[..(message.Length / 2)];
                kind = CaseKind.Unreadable;
            }
            else if (mutation < 5)
            {
                message = mutation == 3 ? "[" + message + "]" : JsonSerializer.Serialize(message);
                kind = CaseKind.Unreadable;
            }

            return envelope && kind != CaseKind.Unreadable
                ? new CommandCase(
                    $$$"""{"messageId":"{{{messageId}}}","messageType":["urn:message:EventImaging.Contracts:GenerateImage"],"message":{{{message}}}}""",
                    "application/vnd.masstransit+json",
                    kind,
                    id.Id)
                : new CommandCase(message, "application/json", kind, id.Id);
        });
    }
}

/// <summary>One generated callback body shape, rendered for a request's provider and task.</summary>
public sealed record CallbackCase(string Template)
{
    private static readonly Gen<string> Statuses = CsCheck.Gen.OneOf("\"completed\"", "\"failed\"", "\"processing\"", "\"SUCCESS\"", "\"FAILED\"", "1", "-1", "0", "\"cancelled\"", "\"weird\"", "null", "{}", "1e400");

    private static readonly Gen<string> Results = CsCheck.Gen.OneOf(
        "[\"https://files.example/a.png\"]", "[]", "\"https://files.example/b.png\"", "\"[\\\"https://files.example/c.png\\\"]\"", "[1,2]", "null", "[\"javascript:x\"]", "{}");

    private static readonly Gen<string> Ids = CsCheck.Gen.OneOf("{task}", "{task}", "{task}", "other-task", "", "12345", new string('t', 300), "\\ud800", "t\\u0000");

    private static readonly Gen<string> Numbers = CsCheck.Gen.OneOf("50", "1e400", "-1", "\"70\"", "\"x\"", "null", "123456789012345678901234567890");

    public static readonly Gen<CallbackCase> Generator = CsCheck.Gen.Frequency(
        (40, CsCheck.Gen.Select(Ids, Statuses, Results, Numbers, (id, status, results, number) =>
            new CallbackCase($$$"""{"id":"{{{id}}}","task_id":"{{{id}}}","status":{{{status}}},"progress":{{{number}}},"results":{{{results}}},"response":{{{results}}},"consumed_credits":{{{number}}},"error":{"code":{{{number}}},"message":"m\u0000\ud800"},"error_message":"{{{new string('e', 10)}}}"}"""))),
        (30, CsCheck.Gen.Select(Ids, Statuses, Results, (id, status, results) =>
            new CallbackCase($$$"""{"code":200,"data":{"task_id":"{{{id}}}","status":{{{status}}},"response":{{{results}}}}}"""))),
        (15, CsCheck.Gen.OneOf("", "not json", "[]", "null", "{", "\"str\"", "{\"id\":", "{\"data\":[]}").Select(t => new CallbackCase(t))),
        (15, CsCheck.Gen.String[0, 200].Select(t => new CallbackCase(t))));

    public string Render(string provider, string taskId) => Template.Replace("{task}", taskId, StringComparison.Ordinal);
}
