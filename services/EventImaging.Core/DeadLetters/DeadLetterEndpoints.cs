using System.Globalization;
using System.Text.Json;
using EventImaging.Core.Messaging;
using EventImaging.Core.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client.Exceptions;

namespace EventImaging.Core.DeadLetters;

/// <summary>
/// The operator API's dead letters, under <c>/operator/dead-letters</c>: the commands MassTransit moved to an error
/// queue, counted, listed with the reason it recorded, replayed (one, optionally with a fixed body, or all) and purged.
/// </summary>
public static class DeadLetterEndpoints
{
    /// <summary>Largest replacement body an operator may send (a command is a few KB).</summary>
    public const int MaxReplacementBytes = 256 * 1024;

    /// <summary>
    /// The error queues' client and depth gauge, when the service talks to RabbitMQ (<c>ConnectionStrings:RabbitMq</c>).
    /// Called by <c>AddOperatorApi</c>, so the gauge is reported by the services that carry the operator API (the
    /// WebhookReceiver, or a Host on RabbitMQ) and not by every Submitter too: error queues are an operator's concern,
    /// the receiver is where operators act on them, and the Submitters stay workers without a second broker connection.
    /// An invalid URI registers nothing here: <c>AddMessageBus</c> refuses it with a message naming the setting.
    /// </summary>
    public static IHostApplicationBuilder AddDeadLetters(this IHostApplicationBuilder builder)
    {
        var connection = builder.Configuration.GetConnectionString(MessageBusExtensions.RabbitMqConnection);
        if (!Uri.TryCreate(connection, UriKind.Absolute, out var broker) || broker.Scheme is not ("amqp" or "amqps"))
        {
            return builder;
        }

        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section)
            .Validate(o => o.GaugeInterval > TimeSpan.Zero, "Telemetry:GaugeInterval must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<DeadLetterQueues>(sp, broker));
        builder.Services.AddSingleton<DeadLetterGauge>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeadLetterGauge>());
        return builder;
    }

    /// <summary>Maps the dead-letter routes on the operator API's (authenticated) group.</summary>
    public static IEndpointRouteBuilder MapDeadLetters(this IEndpointRouteBuilder operators)
    {
        var deadLetters = operators.MapGroup("/dead-letters");
        if (operators.ServiceProvider.GetService<DeadLetterQueues>() is null)
        {
            deadLetters.Map("/{**rest}", () => Results.Problem(
                statusCode: StatusCodes.Status501NotImplemented,
                title: "Dead letters are kept by RabbitMQ; the embedded in-memory bus keeps none.",
                detail: "Set ConnectionStrings:RabbitMq to run on RabbitMQ, where commands that cannot be read land in error queues."));
            return operators;
        }

        deadLetters.MapGet("/", async (DeadLetterQueues queues, CancellationToken cancellationToken) => await OnBrokerAsync(async () =>
        {
            var counts = new List<object>();
            foreach (var queue in CommandQueue.All)
            {
                counts.Add(new { queue = queue.Name, errorQueue = queue.ErrorQueue, count = await queues.CountAsync(queue, cancellationToken) });
            }

            return Results.Ok(new { queues = counts });
        }));

        deadLetters.MapGet("/{queue}", async (string queue, string? take, DeadLetterQueues queues, CancellationToken cancellationToken) =>
        {
            if (CommandQueue.Find(queue) is not { } known)
            {
                return UnknownQueue(queue);
            }

            var count = DeadLetterQueues.DefaultTake;
            if (take is not null && (!int.TryParse(take, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > DeadLetterQueues.MaxTake))
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status400BadRequest,
                    title: $"take must be a whole number from 1 to {DeadLetterQueues.MaxTake}.");
            }

            return await OnBrokerAsync(async () =>
            {
                var depth = await queues.CountAsync(known, cancellationToken);
                var messages = await queues.PeekAsync(known, count, cancellationToken);
                return Results.Ok(new { queue = known.Name, errorQueue = known.ErrorQueue, count = depth, messages });
            });
        });

        deadLetters.MapPost("/{queue}/replay", async (string queue, DeadLetterQueues queues, CancellationToken cancellationToken) =>
            CommandQueue.Find(queue) is not { } known
                ? UnknownQueue(queue)
                : await OnBrokerAsync(async () =>
                {
                    var replayed = await queues.ReplayAllAsync(known, cancellationToken);
                    return Results.Ok(new { queue = known.Name, replayed, remaining = await queues.CountAsync(known, cancellationToken) });
                }));

        deadLetters.MapPost("/{queue}/{messageId}/replay", async (string queue, string messageId, HttpRequest request, DeadLetterQueues queues, CancellationToken cancellationToken) =>
        {
            if (CommandQueue.Find(queue) is not { } known)
            {
                return UnknownQueue(queue);
            }

            var (replacement, problem) = await ReplacementAsync(request, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            return await OnBrokerAsync(async () => await queues.ReplayAsync(known, messageId, replacement, cancellationToken)
                ? Results.Ok(new { queue = known.Name, id = messageId, replayed = 1, bodyReplaced = replacement is not null })
                : Results.Problem(
                    statusCode: StatusCodes.Status404NotFound,
                    title: $"No message {messageId} in {known.ErrorQueue}.",
                    detail: $"Ids are those a listing shows; a replay by id looks through the first {DeadLetterQueues.MaxScan} messages."));
        });

        deadLetters.MapDelete("/{queue}", async (string queue, DeadLetterQueues queues, CancellationToken cancellationToken) =>
            CommandQueue.Find(queue) is not { } known
                ? UnknownQueue(queue)
                : await OnBrokerAsync(async () => Results.Ok(new { queue = known.Name, purged = await queues.PurgeAsync(known, cancellationToken) })));

        return operators;
    }

    private static IResult UnknownQueue(string queue) =>
        Results.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: $"'{Bounded(queue)}' is not a command queue with dead letters.",
            detail: $"Known queues: {string.Join(", ", CommandQueue.All.Select(q => q.Name))}.");

    /// <summary>
    /// The fixed command an operator sent with a replay (none when the body is empty): at most
    /// <see cref="MaxReplacementBytes"/>, and a JSON object, or a 4xx problem saying what is wrong.
    /// </summary>
    private static async Task<(ReadOnlyMemory<byte>? Body, IResult? Problem)> ReplacementAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxReplacementBytes)
        {
            return (null, TooLarge());
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxReplacementBytes)
            {
                return (null, TooLarge());
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return (null, null);
        }

        var body = buffer.ToArray();
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, NotACommand($"it is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object"));
            }
        }
        catch (JsonException ex)
        {
            return (null, NotACommand(ex.Message));
        }

        return (body, null);

        static IResult TooLarge() => Results.Problem(
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: $"A replacement command may be at most {MaxReplacementBytes} bytes.");

        static IResult NotACommand(string why) => Results.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: "The replacement body must be the fixed command as a JSON object; nothing was replayed.",
            detail: why);
    }

    /// <summary>Runs a broker operation; a broker that cannot be reached or refuses answers 503, with nothing lost.</summary>
    private static async Task<IResult> OnBrokerAsync(Func<Task<IResult>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception ex) when (ex is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException or PublishException or ConnectFailureException)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "The broker did not complete the operation; messages not confirmed in their command queue stay in the error queue.",
                detail: ex.GetType().Name);
        }
    }

    private static string Bounded(string text) => text.Length <= 100 ? text : text[..100] + "…";
}
