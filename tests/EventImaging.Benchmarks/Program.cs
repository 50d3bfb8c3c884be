using EventImaging.Benchmarks;
using EventImaging.Benchmarks.Sections;

// dotnet run -c Release --project tests/EventImaging.Benchmarks [-- --quick] [--only baseline,callbacks,archiving,submission,polling,memory,micro,composition] [--results dir]
if (args.Contains(BareHttpServer.Flag))
{
    await BareHttpServer.RunAsync(args);
    return 0;
}

if (args.Contains(PlainReceiverServer.Flag))
{
    await PlainReceiverServer.RunAsync(args);
    return 0;
}

if (args.Contains(ComposedPartsServer.Flag))
{
    await ComposedPartsServer.RunAsync(args);
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

if (options.Render is { } saved)
{
    EventImaging.Benchmarks.Report.ReportWriter.Write(EventImaging.Benchmarks.Report.ReportWriter.Read(saved), options.Results);
    return 0;
}

return await BenchmarkRun.RunAsync(options);
