using System.Net;
using System.Net.Sockets;

namespace EventImaging.ProviderSimulator.Evolink;

/// <summary>evolink's documented callback_url restrictions.</summary>
internal static class CallbackUrlRules
{
    public const int MaxLength = 2048;

    /// <returns>Why the URL is refused, or null when it is acceptable.</returns>
    public static string? Problem(string url, bool allowInsecure)
    {
        if (url.Length > MaxLength)
        {
            return $"callback_url must be at most {MaxLength} characters";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return "callback_url must be an absolute HTTPS URL";
        }

        if (allowInsecure)
        {
            return null;
        }

        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            return "callback_url must use HTTPS";
        }

        // Host names are not resolved: the check is about what the caller wrote, and resolving
        // would make the simulator's answers depend on the machine's DNS.
        return IsPrivateOrLoopback(uri) ? "callback_url must not point to a private or loopback address" : null;
    }

    private static bool IsPrivateOrLoopback(Uri uri)
    {
        var host = uri.DnsSafeHost;
        if (uri.IsLoopback || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal
                || address.IsIPv6UniqueLocal || address.Equals(IPAddress.IPv6Any);
        }

        var b = address.GetAddressBytes();
        return b[0] is 0 or 10 or 127
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }
}
