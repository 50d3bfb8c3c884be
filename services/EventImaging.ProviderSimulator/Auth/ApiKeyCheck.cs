using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace EventImaging.ProviderSimulator.Auth;

/// <summary>Both providers take <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
internal sealed class ApiKeyCheck(IOptionsMonitor<SimulatorOptions> options)
{
    public bool IsAuthorized(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Hashing first makes the comparison independent of the key's length as well as its content.
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        var matched = false;
        foreach (var key in options.CurrentValue.AcceptedApiKeys)
        {
            matched |= CryptographicOperations.FixedTimeEquals(presented, SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        }

        return matched;
    }
}
