using EventImaging.Core.Callbacks;

namespace EventImaging.UnitTests.Callbacks;

public sealed class InFlightBoundTests
{
    private const long MiB = 1024 * 1024;

    [Theory]
    [InlineData(64 * MiB, 256)] // the receiver's 40 % of a 160 MiB container
    [InlineData(120 * MiB, 480)] // the runtime's 75 % of a 160 MiB container
    [InlineData(512 * MiB, 2048)]
    public void Unset_it_is_one_callback_per_256_KiB_of_the_heap_the_process_may_use(long heapBytes, int bound) =>
        Assert.Equal(bound, InFlightBound.For(configured: null, heapBytes));

    [Fact]
    public void Unset_on_a_large_machine_it_stops_at_2048() =>
        Assert.Equal(2048, InFlightBound.For(configured: null, heapBytes: 24L * 1024 * MiB));

    [Fact]
    public void Unset_with_a_very_small_heap_it_keeps_64() =>
        Assert.Equal(64, InFlightBound.For(configured: null, heapBytes: 8 * MiB));

    [Theory]
    [InlineData(100)]
    [InlineData(5000)]
    [InlineData(0)]
    public void A_configured_bound_is_kept_whatever_the_memory(int configured)
    {
        Assert.Equal(configured, InFlightBound.For(configured, heapBytes: 64 * MiB));
        Assert.Equal(configured, InFlightBound.For(configured, heapBytes: 24L * 1024 * MiB));
    }
}
