using System.Text.Json.Nodes;
using EventImaging.ProviderSimulator.Auth;
using EventImaging.ProviderSimulator.Behaviour;
using EventImaging.ProviderSimulator.Callbacks;
using EventImaging.ProviderSimulator.Files;
using EventImaging.ProviderSimulator.Tasks;
using Microsoft.AspNetCore.Mvc;

namespace EventImaging.ProviderSimulator.GptImage15;

/// <summary>gptimage15.ai's API, mounted under <c>/gptimage15</c> so the client's base URL is <c>http://host:port/gptimage15</c>.</summary>
internal static class GptImage15Endpoints
{
    public const string Prefix = "/gptimage15";

    public static IEndpointRouteBuilder MapGptImage15(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(Prefix).ExcludeFromDescription();
        group.MapPost("/api/generate", CreateAsync);
        group.MapGet("/api/status", QueryAsync);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(
        HttpContext http,
        SimulatorState state,
        Faults faults,
        ApiKeyCheck keys,
        CallbackScheduler callbacks,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        var cancellationToken = http.RequestAborted;
        var knobs = state.Knobs;
        var (raw, json) = await RequestBody.ReadAsync(http.Request, cancellationToken);
        var prompt = RequestBody.PromptOf(json);
        var markers = PromptMarkers.Parse(prompt);
        if (markers.Ignored.Count > 0)
        {
            loggers.CreateLogger(typeof(GptImage15Endpoints)).LogWarning("Ignoring unknown simulator markers {Markers}", string.Join("; ", markers.Ignored));
        }

        try
        {
            await faults.DelayAsync(knobs.ResponseLatencyMs + knobs.CreateLatencyMs + (markers.LatencyMs ?? 0) + (markers.CreateLatencyMs ?? 0), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Received, then given up by the caller before an answer: recorded, as a real provider would have it.
            state.Record(new ReceivedCreateRequest(SimulatedProvider.GptImage15, time.GetUtcNow(), json, raw, null, ReceivedCreateRequest.NeverAnswered));
            return Results.Empty;
        }

        IResult Reject(int status, JsonObject body)
        {
            state.Record(new ReceivedCreateRequest(SimulatedProvider.GptImage15, time.GetUtcNow(), json, raw, null, status));
            return JsonReply.With(body, status);
        }

        if (!keys.IsAuthorized(http.Request))
        {
            return Reject(StatusCodes.Status401Unauthorized, GptImage15Json.Error(401));
        }

        if (faults.CreateError(SimulatedProvider.GptImage15, prompt ?? "", markers) is { } injected)
        {
            injected.WriteHeaders(http.Response);
            return Reject(injected.Status, GptImage15Json.Error(injected.Status));
        }

        var chaos = faults.DrawCreate();
        switch (chaos)
        {
            case CreateChaos.RefuseFirst:
                var refused = Faults.RefusedCreate();
                refused.WriteHeaders(http.Response);
                return Reject(refused.Status, GptImage15Json.Error(refused.Status));
            case CreateChaos.Hang:
                state.Record(new ReceivedCreateRequest(SimulatedProvider.GptImage15, time.GetUtcNow(), json, raw, null, ReceivedCreateRequest.NeverAnswered));
                await Faults.HangAsync(cancellationToken);
                return Results.Empty;
        }

        var (request, error) = GptImage15CreateRequest.Parse(json);
        if (request is null)
        {
            return Reject(StatusCodes.Status400BadRequest, GptImage15Json.Error(400, error));
        }

        var now = time.GetUtcNow();
        var (width, height) = TaskIds.Pixels(request.Size);
        var task = new SimulatedTask
        {
            Id = TaskIds.GptImage15(),
            Provider = SimulatedProvider.GptImage15,
            CreatedAt = now,
            Model = "gpt-image-1.5",
            Quality = request.Quality,
            Width = width,
            Height = height,
            Request = json!.Value,
            CallbackUrl = request.CallbackUrl,
            CreatedVia = ResultFiles.BaseUrl(http.Request),
            Behaviour = TaskBehaviour.Resolve(knobs, markers),
        };
        state.Add(task);
        var status = chaos == CreateChaos.GatewayTimeoutAfter ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status200OK;
        state.Record(new ReceivedCreateRequest(SimulatedProvider.GptImage15, now, json, raw, task.Id, status));
        callbacks.ScheduleFirst(task);
        return status == StatusCodes.Status504GatewayTimeout
            ? Results.Text("<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html", statusCode: status)
            : JsonReply.With(GptImage15Json.Created(task.Id));
    }

    private static async Task<IResult> QueryAsync(
        [FromQuery(Name = "task_id")] string? taskId,
        HttpContext http,
        SimulatorState state,
        Faults faults,
        ApiKeyCheck keys,
        TimeProvider time)
    {
        var cancellationToken = http.RequestAborted;
        await faults.DelayAsync(state.Knobs.ResponseLatencyMs, cancellationToken);
        if (!keys.IsAuthorized(http.Request))
        {
            return JsonReply.With(GptImage15Json.Error(401), StatusCodes.Status401Unauthorized);
        }

        if (string.IsNullOrWhiteSpace(taskId))
        {
            return JsonReply.With(GptImage15Json.Error(400, "Bad Request: 'task_id' is required."), StatusCodes.Status400BadRequest);
        }

        var task = state.Find(taskId);
        if (task is null || task.Provider != SimulatedProvider.GptImage15)
        {
            return JsonReply.With(GptImage15Json.Error(404), StatusCodes.Status404NotFound);
        }

        var queryNumber = task.RecordStatusQuery();
        await faults.DelayAsync(task.Behaviour.Latency, cancellationToken);
        var now = time.GetUtcNow();
        if ((faults.QueryError(task, queryNumber, now) ?? faults.ChaosQueryError()) is { } injected)
        {
            injected.WriteHeaders(http.Response);
            return JsonReply.With(GptImage15Json.Error(injected.Status), injected.Status);
        }

        return JsonReply.With(GptImage15Json.Status(task, task.At(now), ResultFiles.BaseUrl(http.Request)));
    }
}
