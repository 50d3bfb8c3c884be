using EventImaging.Core.Configuration;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventImaging.Core.Messaging;

/// <summary>The consumers each role registers, applied once by <see cref="MessageBusExtensions.AddMessageBus"/>.</summary>
public sealed class MessageBusRegistrations
{
    internal List<Action<IBusRegistrationConfigurator>> Registrations { get; } = [];

    /// <summary>Set by <see cref="MessageBusExtensions.AddMessageBus"/>: a consumer registered after it would never be connected.</summary>
    internal bool Applied { get; set; }

    public MessageBusRegistrations AddConsumer<TConsumer, TDefinition>()
        where TConsumer : class, IConsumer
        where TDefinition : class, IConsumerDefinition<TConsumer>
    {
        if (Applied)
        {
            throw new InvalidOperationException(
                $"{typeof(TConsumer).Name} was registered after AddMessageBus(), which has already configured the bus: call AddMessageBus() after every role in Program.cs.");
        }

        Registrations.Add(x => x.AddConsumer<TConsumer, TDefinition>());
        return this;
    }
}

public static class MessageBusExtensions
{
    public const string RabbitMqConnection = "RabbitMq";

    /// <summary>Configuration key: declare the receive endpoints' queues as quorum queues (RabbitMQ clusters).</summary>
    public const string QuorumQueuesKey = "Messaging:QuorumQueues";

    public static MessageBusRegistrations MessageBus(this IHostApplicationBuilder builder)
    {
        if (!builder.Properties.TryGetValue(typeof(MessageBusRegistrations), out var registrations))
        {
            registrations = new MessageBusRegistrations();
            builder.Properties[typeof(MessageBusRegistrations)] = registrations;
        }

        return (MessageBusRegistrations)registrations;
    }

    /// <summary>
    /// MassTransit on RabbitMQ (<c>ConnectionStrings:RabbitMq</c>, an amqp URI), or in memory in embedded mode.
    /// Call after the roles, which register their consumers with <see cref="MessageBus"/>.
    /// </summary>
    public static IHostApplicationBuilder AddMessageBus(this IHostApplicationBuilder builder)
    {
        var connection = builder.Configuration.GetConnectionString(RabbitMqConnection);
        Uri? rabbitMq = null;
        if (string.IsNullOrWhiteSpace(connection))
        {
            if (!builder.IsEmbedded())
            {
                throw EmbeddedMode.MissingSetting("ConnectionStrings:RabbitMq", "this service needs a RabbitMQ broker (an amqp:// URI).");
            }
        }
        else if (!Uri.TryCreate(connection, UriKind.Absolute, out rabbitMq) || rabbitMq.Scheme is not ("amqp" or "amqps"))
        {
            throw new InvalidOperationException(
                "Configuration 'ConnectionStrings:RabbitMq' (environment variable ConnectionStrings__RabbitMq) must be an amqp:// or amqps:// URI.");
        }

        // Start-up completes only once the broker topology exists, so nothing is published into the void.
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(options =>
        {
            options.WaitUntilStarted = true;
            options.StartTimeout = TimeSpan.FromSeconds(60);
            options.StopTimeout = TimeSpan.FromSeconds(30);
        });

        if (rabbitMq is not null)
        {
            builder.Services.AddSingleton(_ => new BrokerProbe(rabbitMq));
            builder.Services.AddHealthChecks().AddRabbitMQ(
                sp => sp.GetRequiredService<BrokerProbe>().ConnectionAsync(),
                name: "broker",
                tags: [ServiceDefaults.ServiceDefaultsExtensions.ReadyTag],
                timeout: TimeSpan.FromSeconds(5));
        }

        var roles = builder.MessageBus();
        if (roles.Applied)
        {
            throw new InvalidOperationException("AddMessageBus() was called twice.");
        }

        roles.Applied = true;
        var registrations = roles.Registrations;
        var quorumQueues = builder.Configuration.GetValue<bool>(QuorumQueuesKey);
        builder.Services.AddReceiveObserver<DeadLetterObserver>();
        builder.Services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            if (quorumQueues)
            {
                // Replicated queues that survive the loss of a minority of a RabbitMQ cluster's nodes.
                x.AddConfigureEndpointsCallback((_, _, endpoint) =>
                {
                    if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbitMqEndpoint)
                    {
                        rabbitMqEndpoint.SetQuorumQueue();
                    }
                });
            }

            foreach (var register in registrations)
            {
                register(x);
            }

            if (rabbitMq is null)
            {
                x.UsingInMemory((context, cfg) =>
                {
                    ConfigureSerialization(cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(rabbitMq);
                    ConfigureSerialization(cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        return builder;
    }

    private static void ConfigureSerialization(IBusFactoryConfigurator cfg)
    {
        // Publishers in any language may send the plain camelCase JSON of a contract, with or without
        // content_type application/json; MassTransit envelopes keep their own content type.
        cfg.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType, isDefault: true);
        cfg.ConfigureJsonSerializerOptions(ContractJson.RelaxRequiredMembers);
    }
}
