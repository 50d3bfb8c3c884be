namespace EventImaging.Core.Callbacks;

/// <summary>
/// How many callbacks one receiver works on at once (<see cref="CallbackOptions.MaxInFlight"/>). Unset, the bound
/// follows the memory the GC heap may use (the runtime's <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: in a
/// container its share of the memory limit, 40 % in the receiver; on a machine without a limit, the machine's memory):
/// one callback per 256 KiB of it, between 64 and 2,048. So 256 in a 160 MiB container, 2,048 from about 1.3 GiB up.
/// A fixed 2,048 let a cold receiver under load take 2,000 callbacks at once and hold 130 MB more than idle, which
/// inside a 160 MiB limit pushed its own code out of memory until it stopped answering (docs/performance.md,
/// "Memory in a limit").
/// </summary>
public static class InFlightBound
{
    public const int Largest = 2048;
    public const int Smallest = 64;
    public const long HeapBytesPerCallback = 256 * 1024;

    /// <summary>The configured bound (0: none), or the one a heap of <paramref name="heapBytes"/> allows when none is configured.</summary>
    public static int For(int? configured, long heapBytes) =>
        configured ?? (int)Math.Clamp(heapBytes / HeapBytesPerCallback, Smallest, Largest);
}
