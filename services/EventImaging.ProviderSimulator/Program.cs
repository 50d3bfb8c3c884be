using EventImaging.ProviderSimulator;

var builder = WebApplication.CreateBuilder(args);
builder.AddProviderSimulator();
// Standalone only (containers probe these): a host that embeds the simulator has its own health endpoints.
builder.Services.AddHealthChecks();
var app = builder.Build();
app.MapProviderSimulator();
app.MapHealthChecks("/health/live");
app.MapHealthChecks("/health/ready");
app.Run();
