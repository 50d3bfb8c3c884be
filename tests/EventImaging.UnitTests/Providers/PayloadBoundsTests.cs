using System.Text;
using EventImaging.Core.Providers;
using EventImaging.Core.Providers.Evolink;
using EventImaging.Core.Providers.GptImage15;

namespace EventImaging.UnitTests.Providers;

/// <summary>
/// What a provider sends is typed and bounded before it is stored or repeated: numbers outside every range, task ids
/// longer than their column, huge messages and result lists never throw past the reader or reach an event whole.
/// </summary>
public sealed class PayloadBoundsTests
{
    private static ProviderTask Evolink(string json) => EvolinkPayloads.ReadTask(Encoding.UTF8.GetBytes(json));

    private static ProviderTask GptImage15(string json) => GptImage15Payloads.ReadTask(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("\"1e999\"")]
    public void Numbers_outside_every_range_are_ignored_not_thrown(string number)
    {
        var task = Evolink($$$"""
            {"id":"task-1","status":"processing","progress":{{{number}}},"task_info":{"estimated_time":{{{number}}}},"usage":{"credits_reserved":{{{number}}}}}
            """);
        Assert.Null(task.Progress);
        Assert.Null(task.EstimatedSeconds);
        Assert.Null(task.Credits);

        var other = GptImage15($$$"""{"code":200,"data":{"task_id":"t-1","status":"SUCCESS","response":["https://files.example/a.png"],"consumed_credits":{{{number}}}}}""");
        Assert.Null(other.Credits);
        Assert.Null(GptImage15Payloads.ReadEnvelope(Encoding.UTF8.GetBytes($$$"""{"code":{{{number}}},"message":"x"}""")).Code);
    }

    [Theory]
    [InlineData("250")]
    [InlineData("123456789012345678901234567890")]
    public void Whole_numbers_outside_their_range_are_ignored(string number)
    {
        var task = Evolink($$$"""{"id":"task-1","status":"processing","progress":{{{number}}},"task_info":{"estimated_time":{{{number}}}0000}}""");
        Assert.Null(task.Progress);
        Assert.Null(task.EstimatedSeconds);
    }

    [Fact]
    public void A_task_id_longer_than_its_column_makes_the_body_unreadable()
    {
        var id = new string('t', 129);
        Assert.Throws<ProviderPayloadException>(() => Evolink($$$"""{"id":"{{{id}}}","status":"processing"}"""));
        Assert.Throws<ProviderPayloadException>(() => GptImage15($$$"""{"code":200,"data":{"task_id":"{{{id}}}","status":"PENDING"}}"""));
        Assert.Equal(128, Evolink($$$"""{"id":"{{{id[..128]}}}","status":"processing"}""").TaskId.Length);
    }

    [Fact]
    public void A_task_id_with_control_characters_makes_the_body_unreadable() =>
        Assert.Throws<ProviderPayloadException>(() => Evolink("""{"id":"task\n1","status":"processing"}"""));

    [Fact]
    public void Huge_error_messages_and_codes_are_cut()
    {
        var task = Evolink($$$"""
            {"id":"task-1","status":"failed","error":{"code":"{{{new string('c', 5000)}}}","message":"{{{new string('m', 50_000)}}}"}}
            """);
        Assert.InRange(task.Failure!.Message.Length, 1, 1000);
        Assert.InRange(task.Failure.ProviderCode!.Length, 1, 64);

        var other = GptImage15($$$"""{"code":200,"data":{"task_id":"t-1","status":"FAILED","error_message":"{{{new string('m', 50_000)}}}"}}""");
        Assert.InRange(other.Failure!.Message.Length, 1, 1000);
    }

    [Fact]
    public void Result_urls_are_bounded_in_number_and_length_and_must_be_urls()
    {
        var urls = string.Join(",", Enumerable.Range(0, 500).Select(i => $"\"https://files.example/{i}.png\""));
        var task = Evolink($$$"""{"id":"task-1","status":"completed","results":[{{{urls}}},"not a url","https://files.example/{{{new string('x', 20_000)}}}"]}""");
        Assert.Equal(16, task.ResultUrls!.Count);
        Assert.All(task.ResultUrls, url => Assert.StartsWith("https://files.example/", url, StringComparison.Ordinal));
    }

    [Fact]
    public void A_completed_task_whose_only_result_is_not_a_url_is_unreadable() =>
        Assert.Throws<ProviderPayloadException>(() => Evolink("""{"id":"task-1","status":"completed","results":["javascript:alert(1)"]}"""));

    [Fact]
    public void Text_that_is_not_valid_unicode_makes_the_body_unreadable_not_a_crash()
    {
        Assert.Throws<ProviderPayloadException>(() => Evolink("""{"id":"task-\ud800","status":"processing"}"""));
        Assert.Throws<ProviderPayloadException>(() => Evolink("""{"id":"task-1","status":"completed","results":["https://files.example/\udc00.png"]}"""));
        Assert.Throws<ProviderPayloadException>(() => GptImage15("""{"code":200,"data":{"task_id":"t-1","status":"\udc00"}}"""));
    }

    [Fact]
    public void Nul_and_lone_surrogates_never_reach_a_stored_message()
    {
        var task = Evolink("""{"id":"task-1","status":"failed","error":{"code":"c\u0000","message":"bad\u0000 end"}}""");
        Assert.DoesNotContain('\0', task.Failure!.Message);
        Assert.DoesNotContain('\0', task.Failure.ProviderCode!);
        // A message that is not valid text is dropped, and the failure still reads.
        var other = Evolink("""{"id":"task-1","status":"failed","error":{"code":"c","message":"bad\ud800"}}""");
        Assert.All(other.Failure!.Message, c => Assert.False(char.IsSurrogate(c)));
    }
}
