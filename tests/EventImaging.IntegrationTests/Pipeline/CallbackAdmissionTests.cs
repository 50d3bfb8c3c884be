using System.Net;
using System.Net.Sockets;
using System.Text;
using EventImaging.Core.Callbacks;
using Microsoft.Extensions.DependencyInjection;
using EventImaging.IntegrationTests.Infrastructure;
using Npgsql;

namespace EventImaging.IntegrationTests.Pipeline;

/// <summary>
/// <c>Callbacks:MaxInFlight</c>: a receiver that already has its bound of callbacks in hand turns the next one away
/// with 503 and Retry-After, at once, and takes it when the provider retries.
/// </summary>
[Collection(BrokerAndDatabaseCollection.Name)]
public sealed class CallbackAdmissionTests(RabbitMqFixture rabbitMq, PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private PipelineEnvironment env = null!;

    public async Task InitializeAsync() =>
        env = await PipelineEnvironment.StartAsync(rabbitMq, postgres, new Dictionary<string, string?> { ["Callbacks:MaxInFlight"] = "1" }, output: output);

    public async Task DisposeAsync() => await env.DisposeAsync();

    [Fact]
    public async Task A_callback_past_the_bound_gets_503_with_retry_after_and_its_retry_is_applied_once()
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Held [sim:never-finish] {requestId:N}" });
        await env.SubmittedAsync(requestId);
        var taskId = Assert.Single(env.CreatesFor(requestId.ToString("N"))).TaskId;
        var token = env.CallbackTokenOf(requestId);
        var completed = $$"""{"id":"{{taskId}}","status":"completed","progress":100,"results":["https://files.example/held.png"]}""";

        // Another session holds the row, so the first callback's terminal update waits for it: one callback in hand.
        await using var holder = new NpgsqlConnection(env.Ledger);
        await holder.OpenAsync();
        var transaction = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM image_requests WHERE request_id = @id FOR UPDATE", holder, transaction))
        {
            lockRow.Parameters.AddWithValue("id", requestId);
            await lockRow.ExecuteScalarAsync();
        }

        var first = env.PostCallbackAsync("evolink", token, completed);
        await Eventually.UntilAsync(WaitingForLockAsync, Timeout, "the first callback's update to wait for the held row");

        using (var turnedAway = await env.PostCallbackAsync("evolink", token, completed).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, turnedAway.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), turnedAway.Headers.RetryAfter?.Delta);
        }

        Assert.False(first.IsCompleted);
        await transaction.RollbackAsync();
        using (var answered = await first.WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        // The provider's retry is taken now, and changes nothing: the request already completed.
        using (var retried = await env.PostCallbackAsync("evolink", token, completed).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        }

        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
        await env.MarkedPublishedAsync(requestId);
        env.Events.SingleTerminalFor(requestId);
    }

    [Fact]
    public async Task Slow_senders_of_made_up_tokens_take_no_slot_from_real_callbacks()
    {
        var requestId = Guid.NewGuid();
        await env.PublishJsonAsync(new { requestId, prompt = $"Real one [sim:never-finish] {requestId:N}" });
        await env.SubmittedAsync(requestId);
        var taskId = Assert.Single(env.CreatesFor(requestId.ToString("N"))).TaskId;
        var completed = $$"""{"id":"{{taskId}}","status":"completed","progress":100,"results":["https://files.example/real.png"]}""";

        // A sender that announces a large body under a made-up token and then sends almost none of it.
        using var slow = new TcpClient();
        await slow.ConnectAsync(env.ReceiverUrl.Host, env.ReceiverUrl.Port);
        var stream = slow.GetStream();
        var head = $"POST /callbacks/evolink/CfDJ8madeUpToken HTTP/1.1\r\nHost: {env.ReceiverUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{{\"id\":";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var admission = env.Receiver.Services.GetRequiredService<CallbackAdmission>();
        var answer = new byte[12];
        var answered = stream.ReadAtLeastAsync(answer, answer.Length, throwOnEndOfStream: false).AsTask();
        // Either the made-up token is answered at once, or (before the token came first) the sender holds the only slot.
        await Eventually.UntilAsync(() => Task.FromResult(answered.IsCompleted || admission.InFlight > 0), Timeout, "the slow sender to be answered or admitted");

        using var real = await env.PostCallbackAsync("evolink", env.CallbackTokenOf(requestId), completed).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        Assert.Equal("HTTP/1.1 404", Encoding.ASCII.GetString(answer, 0, await answered.WaitAsync(Timeout)));
        Assert.Equal("ImageCompleted", (await env.Events.TerminalAsync(requestId)).Type);
    }

    /// <summary>Asked on a connection of its own: a session's view of pg_stat_activity stays the same for its whole transaction.</summary>
    private async Task<bool> WaitingForLockAsync()
    {
        await using var connection = new NpgsqlConnection(env.Ledger);
        await connection.OpenAsync();
        await using var waiting = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
        return (long)(await waiting.ExecuteScalarAsync())! > 0;
    }
}
