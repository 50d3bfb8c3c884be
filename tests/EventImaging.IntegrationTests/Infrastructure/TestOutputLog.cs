using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>
/// A test's own output (xunit's <see cref="ITestOutputHelper"/>), where the services it starts write their logs: the
/// runner shows it with the test's failure, and a green run prints none of it.
/// </summary>
public sealed class TestOutputLog(ITestOutputHelper? output)
{
    /// <summary>Writes one line, prefixed with the service it came from. Without a test output, the line is dropped.</summary>
    public void WriteLine(string source, string line)
    {
        if (output is null)
        {
            return;
        }

        try
        {
            output.WriteLine($"[{source}] {Printable(line)}");
        }
        catch (InvalidOperationException)
        {
            // The test has ended: a late line of a service that is still stopping has nowhere to go.
        }
    }

    /// <summary>A logger provider for an app in this process, naming <paramref name="source"/> on each line.</summary>
    public ILoggerProvider Provider(string source) => new LoggerProvider(this, source);

    // The test results are XML: control characters (a NUL a bad-input test sends, say) are written as escapes.
    private static string Printable(string line)
    {
        if (!line.Any(c => char.IsControl(c) && c is not '\n' and not '\t'))
        {
            return line;
        }

        var text = new StringBuilder(line.Length + 16);
        foreach (var c in line)
        {
            text.Append(char.IsControl(c) && c is not '\n' and not '\t' ? $"\\u{(int)c:x4}" : c);
        }

        return text.ToString();
    }

    private sealed class LoggerProvider(TestOutputLog log, string source) : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

        private TestOutputLog Log => log;

        private string Source => source;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(LoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider.scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel))
                {
                    return;
                }

                var line = new StringBuilder()
                    .Append(DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture))
                    .Append(' ').Append(Level(logLevel)).Append(' ').Append(category).Append(": ").Append(formatter(state, exception));
                provider.scopes.ForEachScope(
                    (scope, text) =>
                    {
                        if (scope is IEnumerable<KeyValuePair<string, object?>> fields)
                        {
                            foreach (var (key, value) in fields.Where(f => f.Key != "{OriginalFormat}"))
                            {
                                text.Append(" | ").Append(key).Append('=').Append(value);
                            }
                        }
                        else
                        {
                            text.Append(" | ").Append(scope);
                        }
                    },
                    line);
                if (exception is not null)
                {
                    line.Append('\n').Append(exception);
                }

                provider.Log.WriteLine(provider.Source, line.ToString());
            }

            private static string Level(LogLevel level) => level switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
        }
    }
}
