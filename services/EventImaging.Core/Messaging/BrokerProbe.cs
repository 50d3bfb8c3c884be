using RabbitMQ.Client;

namespace EventImaging.Core.Messaging;

/// <summary>
/// The connection the readiness check uses to see the broker. MassTransit's own bus check only follows receive
/// endpoints, so a service that only publishes (the WebhookReceiver) would stay "ready" through an outage.
/// A closed connection is replaced on the next probe, so a broker that returns is seen at once.
/// </summary>
internal sealed class BrokerProbe(Uri broker) : IAsyncDisposable
{
    private readonly Lock gate = new();
    private Task<IConnection>? connection;

    public Task<IConnection> ConnectionAsync()
    {
        lock (gate)
        {
            if (connection is null or { IsFaulted: true } or { IsCanceled: true }
                || (connection.IsCompletedSuccessfully && !connection.Result.IsOpen))
            {
                var factory = new ConnectionFactory
                {
                    Uri = broker,
                    AutomaticRecoveryEnabled = false,
                    ClientProvidedName = "eventimaging-readiness",
                    RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
                };
                connection = factory.CreateConnectionAsync();
            }

            return connection;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (connection is { IsCompletedSuccessfully: true })
        {
            await connection.Result.DisposeAsync();
        }
    }
}
