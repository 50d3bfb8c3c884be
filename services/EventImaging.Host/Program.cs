using EventImaging.Core.Callbacks;
using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Polling;
using EventImaging.Core.Providers;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Submission;
using EventImaging.Host.Api;
using EventImaging.Host.Embedded;
using EventImaging.ProviderSimulator;

var builder = WebApplication.CreateBuilder(args);
builder.AddEmbeddedDefaults();
builder.AddServiceDefaults();
builder.AddLedger();
builder.AddProviders();
builder.AddSubmitter();
builder.AddPollingFallback();
builder.AddWebhookReceiver();
builder.AddProviderSimulator();
builder.AddMessageBus();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapCallbacks();
app.MapImageApi();
app.MapProviderSimulator();
app.Run();
