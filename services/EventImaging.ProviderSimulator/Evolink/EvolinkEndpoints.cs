using System.Text.Json;
using System.Text.Json.Nodes;
using EventImaging.ProviderSimulator.Auth;
using EventImaging.ProviderSimulator.Behaviour;
using EventImaging.ProviderSimulator.Callbacks;
using EventImaging.ProviderSimulator.Files;
using EventImaging.ProviderSimulator.Tasks;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace EventImaging.ProviderSimulator.Evolink;

/// <summary>evolink.ai's image API, mounted under <c>/evolink</c> so the client's base URL is <c>http://host:port/evolink</c>.</summary>
internal static class EvolinkEndpoints
{
    public const string Prefix = "/evolink";

    public static IEndpointRouteBuilder MapEvolink(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(Prefix).ExcludeFromDescription();
        group.MapPost("/v1/images/generations", CreateAsync);
        group.MapGet("/v1/tasks/{task_id}", QueryAsync);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(
        HttpContext http,
        SimulatorState state,
        Faults faults,
        ApiKeyCheck keys,
        CallbackScheduler callbacks,
        TimeProvider time,
        IOptionsMonitor<SimulatorOptions> options,
        ILoggerFactory loggers)
    {
        var cancellationToken = http.RequestAborted;
        var knobs = state.Knobs;
        var (raw, json) = await RequestBody.ReadAsync(http.Request, cancellationToken);
        var prompt = RequestBody.PromptOf(json);
        var markers = PromptMarkers.Parse(prompt);
        if (markers.Ignored.Count > 0)
        {
            loggers.CreateLogger(typeof(EvolinkEndpoints)).LogWarning("Ignoring unknown simulator markers {Markers}", string.Join("; ", markers.Ignored));
        }

        try
        {
            await faults.DelayAsync(knobs.ResponseLatencyMs + knobs.CreateLatencyMs + (markers.LatencyMs ?? 0) + (markers.CreateLatencyMs ?? 0), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Received, then given up by the caller before an answer: recorded, as a real provider would have it.
            state.Record(new ReceivedCreateRequest(SimulatedProvider.Evolink, time.GetUtcNow(), json, raw, null, ReceivedCreateRequest.NeverAnswered));
            return Results.Empty;
        }

        IResult Reject(int status, JsonObject body)
        {
            state.Record(new ReceivedCreateRequest(SimulatedProvider.Evolink, time.GetUtcNow(), json, raw, null, status));
            return JsonReply.With(body, status);
        }

        if (!keys.IsAuthorized(http.Request))
        {
            return Reject(StatusCodes.Status401Unauthorized, EvolinkJson.ForStatus(401, ""));
        }

        var model = json is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("model", out var m)
            && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : "";
        if (faults.CreateError(SimulatedProvider.Evolink, prompt ?? "", markers) is { } injected)
        {
            injected.WriteHeaders(http.Response);
            return Reject(injected.Status, EvolinkJson.ForStatus(injected.Status, model));
        }

        var chaos = faults.DrawCreate();
        switch (chaos)
        {
            case CreateChaos.RefuseFirst:
                var refused = Faults.RefusedCreate();
                refused.WriteHeaders(http.Response);
                return Reject(refused.Status, EvolinkJson.ForStatus(refused.Status, model));
            case CreateChaos.Hang:
                state.Record(new ReceivedCreateRequest(SimulatedProvider.Evolink, time.GetUtcNow(), json, raw, null, ReceivedCreateRequest.NeverAnswered));
                await Faults.HangAsync(cancellationToken);
                return Results.Empty;
        }

        var (request, param, message) = EvolinkCreateRequest.Parse(json, options.CurrentValue.AllowInsecureCallbacks);
        if (request is null)
        {
            return Reject(StatusCodes.Status400BadRequest, EvolinkJson.InvalidRequest(param!, message!));
        }

        var now = time.GetUtcNow();
        var (width, height) = TaskIds.Pixels(request.Size);
        var task = new SimulatedTask
        {
            Id = TaskIds.Evolink(now),
            Provider = SimulatedProvider.Evolink,
            CreatedAt = now,
            Model = request.ReportedModel,
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
        state.Record(new ReceivedCreateRequest(SimulatedProvider.Evolink, now, json, raw, task.Id, status));
        callbacks.ScheduleFirst(task);
        if (status == StatusCodes.Status504GatewayTimeout)
        {
            // The task exists and will call back; the caller only hears that the gateway gave up.
            return Results.Text("<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html", statusCode: status);
        }

        // The create answer is always the freshly queued task, whatever the delay.
        var created = EvolinkJson.Task(task, new TaskSnapshot(TaskPhase.Pending, 0, task.Behaviour.CompletionDelay), task.CreatedVia);
        return JsonReply.With(created);
    }

    private static async Task<IResult> QueryAsync(
        [FromRoute(Name = "task_id")] string taskId,
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
            return JsonReply.With(EvolinkJson.ForStatus(401, ""), StatusCodes.Status401Unauthorized);
        }

        var task = state.Find(taskId);
        if (task is null || task.Provider != SimulatedProvider.Evolink)
        {
            return JsonReply.With(EvolinkJson.TaskNotFound(taskId), StatusCodes.Status404NotFound);
        }

        var queryNumber = task.RecordStatusQuery();
        await faults.DelayAsync(task.Behaviour.Latency, cancellationToken);
        var now = time.GetUtcNow();
        if ((faults.QueryError(task, queryNumber, now) ?? faults.ChaosQueryError()) is { } injected)
        {
            injected.WriteHeaders(http.Response);
            return JsonReply.With(EvolinkJson.ForStatus(injected.Status, task.Model), injected.Status);
        }

        return JsonReply.With(EvolinkJson.Task(task, task.At(now), ResultFiles.BaseUrl(http.Request)));
    }
}
