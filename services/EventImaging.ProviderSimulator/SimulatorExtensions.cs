using EventImaging.ProviderSimulator.Admin;
using EventImaging.ProviderSimulator.Auth;
using EventImaging.ProviderSimulator.Behaviour;
using EventImaging.ProviderSimulator.Callbacks;
using EventImaging.ProviderSimulator.Evolink;
using EventImaging.ProviderSimulator.Files;
using EventImaging.ProviderSimulator.GptImage15;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EventImaging.ProviderSimulator;

public static class SimulatorExtensions
{
    /// <summary>Registers the simulator; binds section <c>Simulator</c> (see the project README).</summary>
    public static IHostApplicationBuilder AddProviderSimulator(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.SectionName)
            .Validate(o => o.MaxRecordedRequests > 0, "Simulator:MaxRecordedRequests must be greater than 0.")
            .ValidateOnStart();
        services.AddOptions<SimulatorKnobs>()
            .BindConfiguration(SimulatorOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulatorKnobs>, SimulatorKnobsValidation>());

        // A host or test that brings its own clock keeps it.
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SimulatorState>();
        services.TryAddSingleton<Faults>();
        services.TryAddSingleton<ApiKeyCheck>();
        services.TryAddSingleton<CallbackScheduler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CallbackDispatcher>());
        return builder;
    }

    /// <summary>Maps <c>/evolink/...</c>, <c>/gptimage15/...</c> and <c>/simulator/...</c>.</summary>
    public static IEndpointRouteBuilder MapProviderSimulator(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapEvolink();
        endpoints.MapGptImage15();
        endpoints.MapResultFiles();
        endpoints.MapSimulatorAdmin();
        return endpoints;
    }
}

/// <summary>Stops start-up with sentences that name each out-of-range knob.</summary>
internal sealed class SimulatorKnobsValidation : IValidateOptions<SimulatorKnobs>
{
    public ValidateOptionsResult Validate(string? name, SimulatorKnobs options)
    {
        var problems = options.Validate();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
