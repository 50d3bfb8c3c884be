using System.Net;
using System.Text.Json;
using EventImaging.Contracts;
using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using Npgsql;

namespace EventImaging.UnitTests.Messaging;

public sealed class GenerateImageJsonTests
{
    private static GenerateImage Read(string json) => JsonSerializer.Deserialize<GenerateImage>(json, ContractJson.Relaxed)!;

    [Fact]
    public void A_well_typed_body_reads_whole_and_round_trips()
    {
        var command = new GenerateImage
        {
            RequestId = Guid.NewGuid(),
            Prompt = "A lighthouse",
            Size = "1:1",
            ImageUrls = ["https://images.example.com/a.png"],
            Deadline = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.FromHours(2)),
            Metadata = new Dictionary<string, string> { ["order"] = "42" },
        };

        var read = Read(JsonSerializer.Serialize(command, ContractJson.Relaxed));

        Assert.IsNotType<PartlyReadGenerateImage>(read);
        Assert.Equal(command.RequestId, read.RequestId);
        Assert.Equal(command.Deadline, read.Deadline);
        Assert.Equal(command.ImageUrls, read.ImageUrls);
        Assert.Equal("42", read.Metadata!["order"]);
    }

    [Theory]
    [InlineData("\"imageUrls\":\"https://a.example/x.png\"", "imageUrls must be")]
    [InlineData("\"metadata\":{\"n\":1}", "metadata must be")]
    [InlineData("\"deadline\":\"tomorrow\"", "deadline must be")]
    [InlineData("\"size\":12", "size must be")]
    public void A_field_of_the_wrong_type_is_named_and_the_rest_is_kept(string member, string error)
    {
        var id = Guid.NewGuid();
        var read = Read($$"""{"requestId":"{{id}}","prompt":"kept",{{member}}}""");

        var partly = Assert.IsType<PartlyReadGenerateImage>(read);
        Assert.Contains(partly.FieldErrors, e => e.StartsWith(error, StringComparison.Ordinal));
        Assert.Equal(id, read.RequestId);
        Assert.Equal("kept", read.Prompt);
    }

    [Theory]
    [InlineData("""{"requestId":"not-a-guid"}""")]
    [InlineData("""{"requestId":42}""")]
    [InlineData("""[1,2]""")]
    [InlineData("\"text\"")]
    public void A_body_whose_request_id_cannot_be_read_is_unreadable(string json) =>
        Assert.ThrowsAny<JsonException>(() => Read(json));

    [Fact]
    public void A_missing_or_null_request_id_reads_as_empty() =>
        Assert.Equal(Guid.Empty, Read("""{"requestId":null,"prompt":"x"}""").RequestId);

    [Fact]
    public void Database_unavailability_is_found_through_wrapping_exceptions_and_permanent_errors_are_not()
    {
        var cut = new NpgsqlException("Exception while reading from stream", new System.IO.EndOfStreamException());
        Assert.True(LedgerFaults.IsUnavailable(new InvalidOperationException("transient", cut)));
        Assert.True(LedgerFaults.IsUnavailable(new System.Security.Cryptography.CryptographicException("key ring", new TimeoutException())));
        Assert.False(LedgerFaults.IsUnavailable(new InvalidOperationException("a bug")));
        Assert.False(LedgerFaults.IsUnavailable(new Microsoft.EntityFrameworkCore.DbUpdateException("too long", new FormatException())));
        // A prepared statement whose result a migration changed fails once per connection, then is prepared again.
        Assert.True(LedgerFaults.IsUnavailable(new PostgresException("cached plan must not change result type", "ERROR", "ERROR", "0A000")));
        Assert.False(LedgerFaults.IsUnavailable(new PostgresException("value too long for type character varying(64)", "ERROR", "ERROR", "22001")));
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    public void A_callback_source_is_its_ipv4_address_or_its_ipv6_slash_64(string address, string source) =>
        Assert.Equal(source, CallbackEndpoints.SourceOf(IPAddress.Parse(address)));
}
