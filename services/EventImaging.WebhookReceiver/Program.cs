using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Operations;
using EventImaging.Core.Providers;
using EventImaging.Core.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddLedger();
builder.AddProviders();
builder.AddWebhookReceiver();
builder.AddMessageBus();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapCallbacks();
app.MapOperatorApi();
app.Run();
