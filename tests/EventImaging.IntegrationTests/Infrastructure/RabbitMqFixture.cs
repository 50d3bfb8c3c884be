using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Testcontainers.RabbitMq;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>
/// A RabbitMQ broker with the management plugin for the test run: the one named by
/// <c>EVENTIMAGING_TEST_RABBITMQ</c> (an amqp URI) when set, otherwise a container of the pinned image (or of
/// <c>EVENTIMAGING_TEST_RABBITMQ_IMAGE</c>) started with Testcontainers.
/// Each test environment gets its own virtual host through the management HTTP API.
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    /// <summary>Environment variable with the broker's amqp URI (credentials included).</summary>
    public const string BrokerVariable = "EVENTIMAGING_TEST_RABBITMQ";

    /// <summary>Optional environment variable with the management HTTP API base URI.</summary>
    public const string ManagementVariable = "EVENTIMAGING_TEST_RABBITMQ_MANAGEMENT";

    /// <summary>The image started when no broker is configured.</summary>
    public const string Image = "rabbitmq:4.1-management";

    /// <summary>
    /// Optional environment variable naming another image to start instead of <see cref="Image"/>: an equivalent built
    /// locally where no image registry is reachable (tests/containers/local-images.sh).
    /// </summary>
    public const string ImageVariable = "EVENTIMAGING_TEST_RABBITMQ_IMAGE";

    private const int AmqpPort = 5672;
    private const int ManagementPort = 15672;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, byte> createdVirtualHosts = new();
    private RabbitMqContainer? container;
    private HttpClient? http;
    private Uri? brokerUri;
    private Uri? managementUri;

    /// <summary>The broker's amqp URI (default virtual host).</summary>
    public Uri BrokerUri => brokerUri ?? throw NotInitialized();

    /// <summary>The management HTTP API base, e.g. <c>http://127.0.0.1:15672/</c>.</summary>
    public Uri ManagementUri => managementUri ?? throw NotInitialized();

    /// <summary>The user for both AMQP and the management API.</summary>
    public string UserName { get; private set; } = "guest";

    /// <summary>The password of <see cref="UserName"/>.</summary>
    public string Password { get; private set; } = "guest";

    /// <summary>True when the broker is a container started by this fixture.</summary>
    public bool IsContainer => container is not null;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(BrokerVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            brokerUri = new Uri(configured);
            var configuredManagement = Environment.GetEnvironmentVariable(ManagementVariable);
            managementUri = string.IsNullOrWhiteSpace(configuredManagement)
                ? new UriBuilder(Uri.UriSchemeHttp, brokerUri.Host, ManagementPort).Uri
                : new Uri(configuredManagement.EndsWith('/') ? configuredManagement : configuredManagement + "/");
        }
        else
        {
            var image = Environment.GetEnvironmentVariable(ImageVariable);
            container = new RabbitMqBuilder(string.IsNullOrWhiteSpace(image) ? Image : image)
                .WithPortBinding(ManagementPort, assignRandomHostPort: true)
                .Build();
            await container.StartAsync();
            brokerUri = new Uri(container.GetConnectionString());
            managementUri = new UriBuilder(
                Uri.UriSchemeHttp, container.Hostname, container.GetMappedPublicPort(ManagementPort)).Uri;
        }

        if (!string.IsNullOrEmpty(brokerUri.UserInfo))
        {
            var parts = brokerUri.UserInfo.Split(':', 2);
            UserName = Uri.UnescapeDataString(parts[0]);
            Password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : string.Empty;
        }

        http = new HttpClient { BaseAddress = managementUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{UserName}:{Password}")));

        await Eventually.UntilAsync(
            async () =>
            {
                using var response = await http.GetAsync(new Uri("api/overview", UriKind.Relative));
                return response.IsSuccessStatusCode;
            },
            ReadyTimeout,
            $"the RabbitMQ management API answers at {managementUri} (is the rabbitmq_management plugin enabled?)");
    }

    /// <summary>
    /// Creates a fresh virtual host, grants <see cref="UserName"/> full permissions on it and
    /// returns an amqp URI (with credentials) pointing at it.
    /// </summary>
    /// <param name="name">The virtual host name; a unique one when null.</param>
    public async Task<Uri> CreateVirtualHostAsync(string? name = null)
    {
        var client = http ?? throw NotInitialized();
        name ??= $"ei-{Guid.NewGuid():N}";
        var escaped = Uri.EscapeDataString(name);

        using (var content = JsonContent.Create(new { description = "EventImaging integration test" }))
        {
            using var response = await client.PutAsync(new Uri($"api/vhosts/{escaped}", UriKind.Relative), content);
            await EnsureSuccessAsync(response, $"create virtual host '{name}'");
        }

        createdVirtualHosts.TryAdd(name, 0);

        using (var content = JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" }))
        {
            using var response = await client.PutAsync(
                new Uri($"api/permissions/{escaped}/{Uri.EscapeDataString(UserName)}", UriKind.Relative), content);
            await EnsureSuccessAsync(response, $"grant '{UserName}' permissions on virtual host '{name}'");
        }

        return VirtualHostUri(name);
    }

    /// <summary>The queues of a virtual host with their type (<c>classic</c>, <c>quorum</c>), from the management API.</summary>
    /// <param name="virtualHost">An amqp URI from <see cref="CreateVirtualHostAsync"/>.</param>
    public async Task<IReadOnlyDictionary<string, string>> QueueTypesAsync(Uri virtualHost)
    {
        var client = http ?? throw NotInitialized();
        var name = VirtualHostName(virtualHost);
        using var response = await client.GetAsync(new Uri($"api/queues/{Uri.EscapeDataString(name)}?columns=name,type", UriKind.Relative));
        await EnsureSuccessAsync(response, $"list the queues of virtual host '{name}'");
        var queues = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return queues.EnumerateArray().ToDictionary(q => q.GetProperty("name").GetString()!, q => q.GetProperty("type").GetString()!);
    }

    /// <summary>
    /// A queue's messages waiting and delivered but not yet acknowledged, from the management API (its statistics are a
    /// few seconds old); null when the queue does not exist.
    /// </summary>
    /// <param name="virtualHost">An amqp URI from <see cref="CreateVirtualHostAsync"/>.</param>
    public async Task<(long Ready, long Unacknowledged)?> MessagesAsync(Uri virtualHost, string queue)
    {
        var client = http ?? throw NotInitialized();
        var name = VirtualHostName(virtualHost);
        using var response = await client.GetAsync(new Uri($"api/queues/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(queue)}", UriKind.Relative));
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, $"read queue '{queue}' of virtual host '{name}'");
        var found = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        static long Count(System.Text.Json.JsonElement queue, string field) =>
            queue.TryGetProperty(field, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.Number ? value.GetInt64() : 0;
        return (Count(found, "messages_ready"), Count(found, "messages_unacknowledged"));
    }

    /// <summary>
    /// Makes a virtual host unreachable, as a broker outage does for its clients: new connections are refused and open
    /// ones are closed, except those whose client-provided name is <paramref name="spare"/> (the test's own observer).
    /// Disposing the result lets connections in again.
    /// </summary>
    public async Task<IAsyncDisposable> RefuseConnectionsAsync(Uri virtualHost, string spare)
    {
        var client = http ?? throw NotInitialized();
        var name = VirtualHostName(virtualHost);
        var permissions = new Uri($"api/permissions/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(UserName)}", UriKind.Relative);
        using (var revoked = await client.DeleteAsync(permissions))
        {
            await EnsureSuccessAsync(revoked, $"revoke the permissions on virtual host '{name}'");
        }

        using (var listed = await client.GetAsync(new Uri($"api/vhosts/{Uri.EscapeDataString(name)}/connections", UriKind.Relative)))
        {
            await EnsureSuccessAsync(listed, $"list the connections of virtual host '{name}'");
            foreach (var connection in (await listed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).EnumerateArray())
            {
                var provided = connection.TryGetProperty("client_properties", out var properties) && properties.TryGetProperty("connection_name", out var value)
                    ? value.GetString()
                    : null;
                if (provided != spare)
                {
                    using var closed = await client.DeleteAsync(new Uri($"api/connections/{Uri.EscapeDataString(connection.GetProperty("name").GetString()!)}", UriKind.Relative));
                }
            }
        }

        return new Restore(async () =>
        {
            using var content = JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" });
            using var granted = await client.PutAsync(permissions, content);
            await EnsureSuccessAsync(granted, $"grant the permissions on virtual host '{name}' again");
        });
    }

    private sealed class Restore(Func<Task> restore) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await restore();
    }

    /// <summary>Deletes a virtual host (and everything in it); a missing one is not an error.</summary>
    /// <param name="name">The virtual host name.</param>
    public async Task DeleteVirtualHostAsync(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var client = http ?? throw NotInitialized();
        using var response = await client.DeleteAsync(
            new Uri($"api/vhosts/{Uri.EscapeDataString(name)}", UriKind.Relative));
        if (response.StatusCode != HttpStatusCode.NotFound)
        {
            await EnsureSuccessAsync(response, $"delete virtual host '{name}'");
        }

        createdVirtualHosts.TryRemove(name, out _);
    }

    /// <summary>The name of the virtual host an amqp URI from <see cref="CreateVirtualHostAsync"/> points at.</summary>
    private static string VirtualHostName(Uri virtualHost) => Uri.UnescapeDataString(virtualHost.AbsolutePath.TrimStart('/'));

    /// <summary>The amqp URI (with credentials) of a virtual host on this broker.</summary>
    /// <param name="name">The virtual host name.</param>
    public Uri VirtualHostUri(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var broker = BrokerUri;
        var port = broker.IsDefaultPort || broker.Port < 0 ? AmqpPort : broker.Port;
        return new Uri(
            $"{broker.Scheme}://{Uri.EscapeDataString(UserName)}:{Uri.EscapeDataString(Password)}@" +
            $"{broker.Host}:{port}/{Uri.EscapeDataString(name)}");
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (container is null && http is not null)
        {
            // A shared broker outlives the run: leave it as it was.
            foreach (var name in createdVirtualHosts.Keys)
            {
                try
                {
                    await DeleteVirtualHostAsync(name);
                }
#pragma warning disable CA1031 // Best-effort cleanup must not hide the test results.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }
        }

        http?.Dispose();
        if (container is not null)
        {
            await container.DisposeAsync();
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException(
                $"RabbitMQ management API could not {what}: {(int)response.StatusCode} {response.ReasonPhrase} {body}");
        }
    }

    private static InvalidOperationException NotInitialized() =>
        new("RabbitMqFixture is not initialized yet.");
}
