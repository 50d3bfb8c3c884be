using EventImaging.Core.Ledger;
using EventImaging.Migrator;
using Microsoft.Extensions.Hosting;

// Brings the ledger schema up to date, then exits: the deployment step that runs before the services'
// replicas start (they run with Ledger__MigrateOnStart=false).
var builder = Host.CreateApplicationBuilder(args);
try
{
    builder.AddLedgerDatabase();
}
catch (InvalidOperationException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return MigrationCommand.ConfigurationError;
}

using var host = builder.Build();
return await MigrationCommand.RunAsync(host.Services, CancellationToken.None);
