using System.Diagnostics;

namespace EventImaging.Benchmarks.Load;

/// <summary>
/// Sends one callback as the providers do (<see cref="HttpLoad.PostCallbackAsync"/>) and records its life in a
/// <see cref="CompletionTracker"/>: when it was due, when it left, when it was answered 200 (or that it failed or was
/// given up). The event it causes is recorded by whoever consumes it.
/// </summary>
internal static class CallbackSender
{
    public static async Task SendAsync(HttpLoad http, Uri url, byte[] body, CompletionTracker tracker, int index, long due, Action turnedAway)
    {
        tracker.Started(index, due);
        tracker.Sent(index, Stopwatch.GetTimestamp());
        switch (await http.PostCallbackAsync(url, body, turnedAway))
        {
            case CallbackAnswer.Ok:
                tracker.Answered(index, Stopwatch.GetTimestamp());
                break;
            case CallbackAnswer.GivenUp:
                tracker.GiveUp();
                break;
            default:
                tracker.Fail();
                break;
        }
    }
}
