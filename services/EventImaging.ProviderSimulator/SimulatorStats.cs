namespace EventImaging.ProviderSimulator;

public sealed record SimulatorStats(
    ProviderStats Evolink,
    ProviderStats GptImage15,
    IReadOnlyList<TaskStats> Tasks);

public sealed record ProviderStats(
    int CreateRequests,
    int TasksCreated,
    int StatusQueries,
    int CallbackAttempts,
    int CallbackSuccesses);

public sealed record TaskStats(
    string TaskId,
    SimulatedProvider Provider,
    string Status,
    int StatusQueries,
    int CallbackAttempts,
    int CallbackSuccesses);
