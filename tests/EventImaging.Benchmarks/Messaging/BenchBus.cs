using System.Diagnostics;
using EventImaging.Contracts;
using MassTransit;

namespace EventImaging.Benchmarks.Messaging;

/// <summary>
/// The benchmark's own MassTransit bus on the run's virtual host: it publishes (the baseline's messages, the
/// GenerateImage commands) and subscribes to ImageCompleted and ImageSubmitted, like any subscribing service.
/// Each consumed event is handed, with the instant it was consumed, to whichever measurement is running.
/// </summary>
internal sealed class BenchBus : IAsyncDisposable
{
    public const string QueueName = "bench-subscriber";

    private readonly IBusControl bus;

    private BenchBus(Uri broker)
    {
        bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(broker);
            cfg.ReceiveEndpoint(QueueName, endpoint =>
            {
                // The subscriber must never be what limits a measurement.
                endpoint.PrefetchCount = 512;
                endpoint.Durable = false;
                endpoint.AutoDelete = true;
                endpoint.Handler<ImageCompleted>(context =>
                {
                    var at = Stopwatch.GetTimestamp();
                    Completed?.Invoke(context.Message.RequestId, at);
                    CompletedEvent?.Invoke(context.Message, at);
                    return Task.CompletedTask;
                });
                endpoint.Handler<ImageSubmitted>(context =>
                {
                    Submitted?.Invoke(context.Message.RequestId, Stopwatch.GetTimestamp());
                    return Task.CompletedTask;
                });
            });
        });
    }

    /// <summary>Publishes with publisher confirms (MassTransit's default on RabbitMQ).</summary>
    public IBus Bus => bus;

    public Action<Guid, long>? Completed { get; set; }

    /// <summary>The whole <c>ImageCompleted</c>, for a measurement that checks what it carries (the archiving section).</summary>
    public Action<ImageCompleted, long>? CompletedEvent { get; set; }

    public Action<Guid, long>? Submitted { get; set; }

    public static async Task<BenchBus> StartAsync(Uri broker)
    {
        var benchBus = new BenchBus(broker);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await benchBus.bus.StartAsync(timeout.Token);
        return benchBus;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bus.StopAsync(timeout.Token);
    }
}
