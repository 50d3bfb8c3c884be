using EventImaging.Benchmarks;
using EventImaging.Benchmarks.Sections;

// dotnet run -c Release --project tests/EventImaging.Benchmarks [-- --quick] [-- --only baseline,callbacks,submission,polling,micro]
if (args.Contains(BareHttpServer.Flag))
{
    await BareHttpServer.RunAsync(args);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

return await BenchmarkRun.RunAsync(options);
