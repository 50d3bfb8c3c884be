using System.Diagnostics.CodeAnalysis;

namespace EventImaging.IntegrationTests.Infrastructure;

/// <summary>
/// One RabbitMQ, one PostgreSQL and one S3-compatible server for the whole test run. Tests in this collection isolate
/// themselves with a fresh virtual host (<see cref="RabbitMqFixture.CreateVirtualHostAsync"/>)
/// and a fresh database (<see cref="PostgresFixture.CreateDatabaseAsync"/>).
/// </summary>
[CollectionDefinition(Name)]
[SuppressMessage("Naming", "CA1711", Justification = "xUnit collection definitions are named after what they are.")]
public sealed class BrokerAndDatabaseCollection
    : ICollectionFixture<RabbitMqFixture>, ICollectionFixture<PostgresFixture>, ICollectionFixture<S3Fixture>
{
    /// <summary>The collection name to put in <c>[Collection(...)]</c>.</summary>
    public const string Name = "Broker and database";
}
