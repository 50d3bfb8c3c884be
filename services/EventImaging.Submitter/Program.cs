using EventImaging.Core.Ledger;
using EventImaging.Core.Messaging;
using EventImaging.Core.Polling;
using EventImaging.Core.Providers;
using EventImaging.Core.ServiceDefaults;
using EventImaging.Core.Submission;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddLedger();
builder.AddProviders();
builder.AddSubmitter();
builder.AddPollingFallback();
builder.AddMessageBus();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
