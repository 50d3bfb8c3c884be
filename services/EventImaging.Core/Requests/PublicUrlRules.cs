using System.Net;
using System.Net.Sockets;

namespace EventImaging.Core.Requests;

/// <summary>
/// Which URLs may be handed to a provider: absolute https on a public host. Private, loopback, link-local
/// and unique-local IP literals, <c>localhost</c> and single-label names are refused: the providers refuse
/// them, and they are a server-side request forgery vector.
/// </summary>
public static class PublicUrlRules
{
    public const int MaxLength = 2048;

    /// <summary>Null when <paramref name="value"/> is acceptable, else the reason it is not.</summary>
    public static string? Check(string? value, bool allowInsecureHttp = false)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "must not be empty";
        }

        if (value.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            return "must be an absolute URL";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(allowInsecureHttp && uri.Scheme == Uri.UriSchemeHttp))
        {
            return "must use https";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not carry credentials";
        }

        if (allowInsecureHttp)
        {
            return null;
        }

        return CheckHost(uri);
    }

    private static string? CheckHost(Uri uri)
    {
        var host = uri.IdnHost.TrimEnd('.');
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            var address = IPAddress.Parse(uri.HostNameType == UriHostNameType.IPv6 ? host.Trim('[', ']') : host);
            return IsPublic(address) ? null : "must not point at a private, loopback or link-local address";
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return "must not point at localhost";
        }

        if (!host.Contains('.', StringComparison.Ordinal))
        {
            return "must name a public host (a single-label name is not one)";
        }

        return null;
    }

    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 10
                || b[0] == 0
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
                || (b[0] == 198 && b[1] is 18 or 19)
                || b[0] >= 224);
        }

        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses carry an IPv4 address, which may be a private one.
        var v6 = address.GetAddressBytes();
        var embedsIpv4 = (v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b) || (v6[0] == 0x20 && v6[1] == 0x02);
        return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast || embedsIpv4);
    }
}
