using System.Diagnostics;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>
/// How tests wait for something asynchronous to happen: poll a condition until it holds or a
/// timeout passes. No bare sleeps in tests.
/// </summary>
public static class Eventually
{
    /// <summary>How often the condition is evaluated.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Polls <paramref name="condition"/> every <see cref="PollInterval"/> until it returns true.
    /// An exception thrown by the condition counts as "not yet" and is attached to the
    /// <see cref="TimeoutException"/> thrown when <paramref name="timeout"/> passes.
    /// </summary>
    /// <param name="condition">The condition to wait for.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="because">What was expected, in words; it is the failure message.</param>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentException.ThrowIfNullOrWhiteSpace(because);

        var stopwatch = Stopwatch.StartNew();
        var attempts = 0;
        Exception? lastError = null;
        while (true)
        {
            attempts++;
            try
            {
                if (await condition())
                {
                    return;
                }

                lastError = null;
            }
#pragma warning disable CA1031 // Any failure of the condition means "not yet"; it is reported on timeout.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                lastError = ex;
            }

            if (stopwatch.Elapsed >= timeout)
            {
                var message =
                    $"Timed out after {timeout.TotalSeconds:0.###} s ({attempts} attempts) waiting until {because}" +
                    (lastError is null ? "." : $"; the last attempt threw {lastError.GetType().Name}: {lastError.Message}");
                throw new TimeoutException(message, lastError);
            }

            await Task.Delay(PollInterval);
        }
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every <see cref="PollInterval"/> for the whole of <paramref name="window"/>, and
    /// fails at once if it ever holds: for "nothing more happens", instead of waiting a fixed time and looking once.
    /// An exception thrown by the condition fails the test too (it could not tell).
    /// </summary>
    /// <param name="condition">What must not happen.</param>
    /// <param name="window">How long it is watched.</param>
    /// <param name="because">What must not happen, in words; it is the failure message.</param>
    public static async Task NeverAsync(Func<Task<bool>> condition, TimeSpan window, string because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentException.ThrowIfNullOrWhiteSpace(because);

        var stopwatch = Stopwatch.StartNew();
        var attempts = 0;
        while (true)
        {
            attempts++;
            if (await condition())
            {
                throw new InvalidOperationException(
                    $"After {stopwatch.Elapsed.TotalSeconds:0.###} s ({attempts} looks) of a {window.TotalSeconds:0.###} s window, {because} happened.");
            }

            if (stopwatch.Elapsed >= window)
            {
                return;
            }

            await Task.Delay(PollInterval);
        }
    }

    public static Task NeverAsync(Func<bool> condition, TimeSpan window, string because) =>
        NeverAsync(() => Task.FromResult(condition()), window, because);

    /// <summary>Shorthand used by the simulator tests: a condition that must hold within <paramref name="timeoutMs"/>.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, int timeoutMs = 10_000) =>
        UntilAsync(condition, TimeSpan.FromMilliseconds(timeoutMs), "the condition to hold");

    public static Task TrueAsync(Func<bool> condition, int timeoutMs = 10_000) =>
        TrueAsync(() => Task.FromResult(condition()), timeoutMs);
}
