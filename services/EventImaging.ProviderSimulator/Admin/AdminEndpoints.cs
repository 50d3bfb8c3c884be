namespace EventImaging.ProviderSimulator.Admin;

/// <summary>
/// Simulator controls that are not part of either provider's API. Unauthenticated on purpose:
/// the simulator only ever runs in development and test environments.
/// </summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapSimulatorAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/simulator").ExcludeFromDescription();
        group.MapGet("/stats", (SimulatorState state) => Results.Json(state.GetStats()));
        group.MapGet("/knobs", (SimulatorState state) => Results.Json(state.Knobs));
        group.MapPut("/knobs", (SimulatorKnobs knobs, SimulatorState state) =>
        {
            var problems = knobs.Validate();
            if (problems.Count > 0)
            {
                return Results.Problem(string.Join(" ", problems), statusCode: StatusCodes.Status400BadRequest);
            }

            state.SetKnobs(knobs);
            return Results.Json(state.Knobs);
        });
        group.MapGet("/requests", (SimulatorState state, int? limit) =>
        {
            var all = state.GetCreateRequests();
            var recent = all.Skip(Math.Max(0, all.Count - Math.Max(0, limit ?? 100))).Reverse();
            return Results.Json(recent.Select(r => new
            {
                provider = r.Provider.ToString(),
                receivedAt = r.ReceivedAt,
                taskId = r.TaskId,
                responseStatus = r.ResponseStatus,
                body = r.Body,
                rawBody = r.Body is null ? r.RawBody : null,
            }));
        });
        return endpoints;
    }
}
