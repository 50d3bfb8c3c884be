using EventImaging.ProviderSimulator;

var builder = WebApplication.CreateBuilder(args);
builder.AddProviderSimulator();
var app = builder.Build();
app.MapProviderSimulator();
app.Run();
