using System.Text;
using EventImaging.Core.DeadLetters;
using RabbitMQ.Client;

namespace EventImaging.UnitTests.DeadLetters;

public sealed class DeadLetterFormatTests
{
    [Fact]
    public void A_message_id_is_the_id_and_without_one_the_body_hash_is()
    {
        var body = Encoding.UTF8.GetBytes("""{"requestId":"x" "prompt":"p"}""");
        Assert.Equal("abc", DeadLetterFormat.IdOf("abc", body));

        var derived = DeadLetterFormat.IdOf(null, body);
        Assert.Equal(derived, DeadLetterFormat.IdOf("  ", body));
        Assert.Equal(derived, DeadLetterFormat.IdOf(null, [.. body]));
        Assert.NotEqual(derived, DeadLetterFormat.IdOf(null, Encoding.UTF8.GetBytes("""{"requestId":"y" "prompt":"p"}""")));
        Assert.Matches("^sha256-[0-9a-f]{64}$", derived);
        // SHA-256 of the empty string, so the id can be recomputed with any tool (sha256sum).
        Assert.Equal("sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", DeadLetterFormat.IdOf(null, []));
    }

    [Fact]
    public void A_replay_keeps_the_properties_and_headers_but_not_what_MassTransit_added_when_it_moved_the_message()
    {
        var original = new BasicProperties
        {
            MessageId = "m-1",
            CorrelationId = "c-1",
            ContentType = "application/vnd.masstransit+json",
            DeliveryMode = DeliveryModes.Persistent,
            Headers = new Dictionary<string, object?>
            {
                ["MT-Reason"] = "fault"u8.ToArray(),
                ["MT-Fault-ExceptionType"] = "System.Text.Json.JsonException"u8.ToArray(),
                ["MT-Fault-Message"] = "bad"u8.ToArray(),
                ["MT-Fault-StackTrace"] = "at …"u8.ToArray(),
                ["MT-Host-MachineName"] = "replica-1"u8.ToArray(),
                ["MT-MessageType"] = "urn:message:EventImaging.Contracts:GenerateImage"u8.ToArray(),
                ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8.ToArray(),
            },
        };

        var asIs = DeadLetterFormat.ForReplay(original, replaced: false);
        Assert.Equal(["MT-MessageType", "traceparent"], asIs.Headers!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("m-1", "c-1", "application/vnd.masstransit+json", DeliveryModes.Persistent), (asIs.MessageId, asIs.CorrelationId, asIs.ContentType, asIs.DeliveryMode));
        Assert.Equal(7, original.Headers.Count);

        var fixedBody = DeadLetterFormat.ForReplay(original, replaced: true);
        Assert.Equal(DeadLetterFormat.ReplacementContentType, fixedBody.ContentType);
        Assert.Equal("m-1", fixedBody.MessageId);

        original.Headers["Content-Type"] = "application/vnd.masstransit+json"u8.ToArray();
        Assert.Contains("Content-Type", DeadLetterFormat.ForReplay(original, replaced: false).Headers!.Keys);
        Assert.Equal(["MT-MessageType", "traceparent"], DeadLetterFormat.ForReplay(original, replaced: true).Headers!.Keys.Order(StringComparer.Ordinal));
        Assert.Null(DeadLetterFormat.ForReplay(new BasicProperties { Headers = new Dictionary<string, object?> { ["content-type"] = "x" } }, replaced: true).Headers);

        Assert.Null(DeadLetterFormat.WithoutFaultHeaders(new Dictionary<string, object?> { ["MT-Reason"] = "fault" }));
        Assert.Null(DeadLetterFormat.WithoutFaultHeaders(null));
    }

    [Fact]
    public void The_fault_is_read_from_MassTransits_headers_as_text()
    {
        var fault = DeadLetterFormat.FaultOf(new Dictionary<string, object?>
        {
            ["MT-Reason"] = "fault"u8.ToArray(),
            ["MT-Fault-ExceptionType"] = "System.Runtime.Serialization.SerializationException"u8.ToArray(),
            ["MT-Fault-Message"] = "An error occured while deserializing the message envelope"u8.ToArray(),
            ["MT-Fault-Timestamp"] = new AmqpTimestamp(1_764_000_000),
        });

        Assert.Equal(
            new DeadLetterFault("fault", "System.Runtime.Serialization.SerializationException", "An error occured while deserializing the message envelope", "2025-11-24T16:00:00.0000000+00:00", null, null),
            fault);
        Assert.Null(DeadLetterFormat.FaultOf(new Dictionary<string, object?> { ["traceparent"] = "x"u8.ToArray() }));
        Assert.Equal("3", DeadLetterFormat.HeaderText(3));
        Assert.Equal("a, b", DeadLetterFormat.HeaderText(new List<object?> { "a"u8.ToArray(), "b" }));
    }

    [Fact]
    public void The_preview_is_bounded_decodes_invalid_bytes_as_replacements_and_never_cuts_a_surrogate_pair()
    {
        Assert.Equal(("short", false), DeadLetterFormat.Preview("short"u8, 10));
        Assert.Equal(("0123456789", false), DeadLetterFormat.Preview("0123456789"u8, 10));
        Assert.Equal(("0123456789", true), DeadLetterFormat.Preview("0123456789A"u8, 10));
        Assert.Equal(("a\uFFFDb", false), DeadLetterFormat.Preview([(byte)'a', 0xFF, (byte)'b'], 10));

        // "x" then an emoji (two UTF-16 chars): a 2-character preview would end in half of it, so it stops before.
        Assert.Equal(("x", true), DeadLetterFormat.Preview(Encoding.UTF8.GetBytes("x😀y"), 2));

        var large = Encoding.UTF8.GetBytes(new string('é', 100_000));
        var (preview, truncated) = DeadLetterFormat.Preview(large);
        Assert.Equal(DeadLetterFormat.PreviewChars, preview.Length);
        Assert.True(truncated);
    }
}
