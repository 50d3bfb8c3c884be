using EventImaging.Contracts;
using EventImaging.Core.History;
using EventImaging.Core.Ledger;
using EventImaging.Core.Providers;
using EventImaging.Core.Requests;
using FluentValidation;
using Microsoft.Extensions.Logging;

namespace EventImaging.Core.Submission;

/// <summary>
/// Moves a request that named no provider to the next one in <c>Providers:Failover</c> that is available and accepts the
/// command, when its provider failed for a reason that says nothing about the request (quota, key, open circuit).
/// </summary>
public sealed partial class Failover(
    RequestRouter router,
    IValidator<RoutedCommand> validator,
    SubmitLeases leases,
    RequestHistory history,
    ILogger<Failover> logger)
{
    /// <summary>True when the leased row moved to another provider and is due there at once.</summary>
    public async Task<bool> TryAsync(ImageRequest leased, GenerateImage command, ProviderException failure, CancellationToken cancellationToken)
    {
        if (!CreateFailurePolicy.WouldAnotherProviderServe(failure))
        {
            return false;
        }

        foreach (var next in router.FailoverAfter(command, leased.Provider))
        {
            if ((await validator.ValidateAsync(next, cancellationToken)).IsValid
                && await leases.TrySwitchProviderAsync(leased.RequestId, leased.LeaseOwner!, next.Provider, next.Model!, cancellationToken))
            {
                LogFailover(leased.RequestId, leased.Provider, failure.Failure.Code, next.Provider, next.Model!);
                history.Record(leased.RequestId, HistoryKinds.Failover, $"from {leased.Provider} ({failure.Failure.Code}) to {next.Provider} {next.Model}");
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId}: {Provider} failed with {Code}; failing over to {NextProvider} {NextModel}")]
    private partial void LogFailover(Guid requestId, string provider, string code, string nextProvider, string nextModel);
}
