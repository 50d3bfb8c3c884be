using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Operations;
using EventImaging.Core.Outbox;
using EventImaging.Core.Providers;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Telemetry;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddLedger();
builder.AddOutbox();
builder.AddLedgerGauges();
builder.AddProviders();
builder.AddWebhookReceiver();
builder.AddOperatorApi();
builder.AddMessageBus();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapCallbacks();
app.MapOperatorApi();
app.Run();
