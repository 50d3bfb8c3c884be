namespace EventImaging.IntegrationTests.Simulator;

public sealed class CallbackTests : IAsyncLifetime
{
    private SimulatorHost host = null!;

    public async Task InitializeAsync() => host = await SimulatorHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task Evolink_callback_is_retried_after_two_500s_and_stops_at_the_first_success()
    {
        host.Receiver.Script("retry", 500, 500);
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50]", host.CallbackUrl("retry"));

        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(id) == 1);

        Assert.Equal(3, host.Receiver.For("retry").Count);
        Assert.Equal(3, host.State.GetCallbackAttemptCount(id));
        var body = host.Receiver.LastBody("retry");
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("completed", body.GetProperty("status").GetString());
        Assert.Equal(100, body.GetProperty("progress").GetInt32());
        Assert.Single(body.GetProperty("results").EnumerateArray());
        Assert.Equal((await host.EvolinkTaskAsync(id)).ToString(), body.ToString());
    }

    [Fact]
    public async Task Evolink_callback_gives_up_after_three_retries()
    {
        host.Receiver.Script("down", 500, 500, 500, 500, 500, 500);
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50]", host.CallbackUrl("down"));

        await Eventually.TrueAsync(() => host.State.GetCallbackAttemptCount(id) == 4);

        // The last retry waits 200 ms in this host; a fifth attempt would come within a second.
        await Eventually.NeverAsync(() => host.State.GetCallbackAttemptCount(id) > 4, TimeSpan.FromSeconds(1), "a fifth callback attempt");
        Assert.Equal(4, host.State.GetCallbackAttemptCount(id));
        Assert.Equal(0, host.State.GetCallbackSuccessCount(id));
    }

    [Fact]
    public async Task Evolink_callback_retries_after_connection_failures()
    {
        // Nothing listens on port 9 of the loopback: every attempt is a connection failure.
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50]", "http://127.0.0.1:9/cb");

        await Eventually.TrueAsync(() => host.State.GetCallbackAttemptCount(id) == 4);
        Assert.Equal(0, host.State.GetCallbackSuccessCount(id));
    }

    [Fact]
    public async Task Evolink_callback_retries_use_the_documented_one_two_four_second_delays_by_default()
    {
        var clock = new TimerRecordingClock();
        await using var documented = await SimulatorHost.StartAsync(shortRetries: false, time: clock);
        Assert.Null(documented.State.Knobs.EvolinkCallbackRetryDelaysMs);
        documented.Receiver.Script("timed", 500, 500);
        var id = await documented.CreateEvolinkAsync("a cat [sim:delay=0]", documented.CallbackUrl("timed"));

        await Eventually.TrueAsync(() => documented.State.GetCallbackSuccessCount(id) == 1);

        // The delays the simulator asked its clock for: 1 s then 2 s (not 2 then 4), beside each
        // attempt's documented 10 s receiver timeout. The clock is the system's, so the waits were real.
        var receiverTimeout = TimeSpan.FromSeconds(10);
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)], clock.DueTimes.Where(d => d != receiverTimeout));
        Assert.Equal(3, clock.DueTimes.Count(d => d == receiverTimeout));
        var times = documented.Receiver.For("timed").Select(d => d.At).ToList();
        Assert.Equal(3, times.Count);
        // Only lower bounds: a loaded machine delays timers and HTTP, it never hurries them.
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(900), $"second attempt after {times[1] - times[0]}");
        Assert.True(times[2] - times[1] >= TimeSpan.FromMilliseconds(1900), $"third attempt after {times[2] - times[1]}");
    }

    [Fact]
    public async Task Failed_task_callback_carries_the_error()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50;fail]", host.CallbackUrl("failed"));

        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(id) == 1);

        var body = host.Receiver.LastBody("failed");
        Assert.Equal("failed", body.GetProperty("status").GetString());
        Assert.Equal("content_policy_violation", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Cancelled_task_sends_a_callback()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50;cancel]", host.CallbackUrl("cancelled"));

        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(id) == 1);

        Assert.Equal("cancelled", host.Receiver.LastBody("cancelled").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Callbacks_marker_delivers_the_callback_that_many_times()
    {
        var id = await host.CreateEvolinkAsync("a cat [sim:delay=50;callbacks=3]", host.CallbackUrl("thrice"));

        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(id) == 3);
        Assert.Equal(3, host.Receiver.For("thrice").Count);
    }

    [Fact]
    public async Task No_callback_marker_never_calls_back_while_a_sibling_task_does()
    {
        var dropped = await host.CreateEvolinkAsync("a cat [sim:delay=50;no-callback]", host.CallbackUrl("dropped"));
        var sent = await host.CreateEvolinkAsync("a dog [sim:delay=100]", host.CallbackUrl("sent"));

        // The sibling finishes after the dropped one, so once it has been called back the drop is certain.
        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(sent) == 1);
        await host.EvolinkWhenAsync(dropped, t => t.GetProperty("status").GetString() == "completed");
        Assert.Empty(host.Receiver.For("dropped"));
        Assert.Equal(0, host.State.GetCallbackAttemptCount(dropped));
    }

    [Fact]
    public async Task Drop_callbacks_knob_drops_every_callback()
    {
        host.State.UpdateKnobs(k => k with { DropCallbacks = true });
        var evolink = await host.CreateEvolinkAsync("a cat [sim:delay=50]", host.CallbackUrl("e"));
        var gpt = await host.CreateGptImage15Async("a cat [sim:delay=50]", host.CallbackUrl("g"));

        await host.EvolinkWhenAsync(evolink, t => t.GetProperty("status").GetString() == "completed");
        await host.GptImage15WhenAsync(gpt, t => t.GetProperty("data").GetProperty("status").GetString() == "SUCCESS");
        host.State.UpdateKnobs(k => k with { DropCallbacks = false });
        var probe = await host.CreateEvolinkAsync("a dog [sim:delay=0]", host.CallbackUrl("probe"));
        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(probe) == 1);

        Assert.Empty(host.Receiver.For("e"));
        Assert.Empty(host.Receiver.For("g"));
    }

    [Fact]
    public async Task Never_finishing_task_never_calls_back()
    {
        var never = await host.CreateEvolinkAsync("a cat [sim:delay=50;never-finish]", host.CallbackUrl("never"));
        var sibling = await host.CreateEvolinkAsync("a dog [sim:delay=100]", host.CallbackUrl("sibling"));

        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(sibling) == 1);
        Assert.Empty(host.Receiver.For("never"));
        Assert.Equal(0, host.State.GetCallbackAttemptCount(never));
    }

    [Fact]
    public async Task Gptimage15_callback_is_the_whole_status_response_and_is_not_retried()
    {
        host.Receiver.Script("gpt", 500);
        var id = await host.CreateGptImage15Async("a cat [sim:delay=50]", host.CallbackUrl("gpt"));
        var sibling = await host.CreateGptImage15Async("a dog [sim:delay=50]", host.CallbackUrl("gpt-sibling"));

        await Eventually.TrueAsync(() => host.State.GetCallbackAttemptCount(id) == 1 && host.State.GetCallbackSuccessCount(sibling) == 1);
        // evolink would have retried within 50 ms here; give it ten times that.
        await Eventually.NeverAsync(() => host.State.GetCallbackAttemptCount(id) > 1, TimeSpan.FromMilliseconds(500), "a retry of the gptimage15 callback");

        Assert.Equal(1, host.State.GetCallbackAttemptCount(id));
        var body = host.Receiver.LastBody("gpt-sibling");
        Assert.Equal(200, body.GetProperty("code").GetInt32());
        Assert.Equal("SUCCESS", body.GetProperty("data").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Gptimage15_data_callback_shape_sends_only_the_data_object()
    {
        var id = await host.CreateGptImage15Async("a cat [sim:delay=50;shape=data-callback]", host.CallbackUrl("data"));

        await Eventually.TrueAsync(() => host.State.GetCallbackSuccessCount(id) == 1);

        var body = host.Receiver.LastBody("data");
        Assert.Equal(id, body.GetProperty("task_id").GetString());
        Assert.False(body.TryGetProperty("code", out _));
    }
}
