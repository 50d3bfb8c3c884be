using EventImaging.Core.Cancellation;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Outbox;
using EventImaging.Core.Polling;
using EventImaging.Core.Providers;
using EventImaging.Core.Retention;
using EventImaging.Core.Scheduling;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Submission;
using EventImaging.Core.Telemetry;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddLedger();
builder.AddOutbox();
builder.AddLedgerGauges();
builder.AddProviders();
builder.AddSubmitter();
builder.AddCancellation();
builder.AddPollingFallback();
builder.AddScheduler();
builder.AddRetention();
builder.AddMessageBus();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
