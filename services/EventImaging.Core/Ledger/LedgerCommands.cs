using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace EventImaging.Core.Ledger;

/// <summary>
/// What the hand-written multi-row ledger statements share: EF Core has no multi-row conditional update, so they are
/// SQL run on a pooled context's connection, with PostgreSQL taking the rows as arrays and SQLite one row at a time.
/// </summary>
internal static class LedgerCommands
{
    /// <summary>
    /// The items in rounds, round k holding the k-th occurrence of each request id (with its index in
    /// <paramref name="items"/>): nearly always one round. One statement updates a row once however often it is named,
    /// so a request id given more than once is tried in turn, each occurrence seeing what the one before did.
    /// </summary>
    public static IEnumerable<(T Item, int Index)[]> Rounds<T>(IReadOnlyList<T> items, Func<T, Guid> requestId) =>
        items.Select((item, index) => (item, index))
            .GroupBy(x => requestId(x.item))
            .SelectMany(occurrences => occurrences.Select((x, round) => (round, x.item, x.index)))
            .GroupBy(x => x.round)
            .OrderBy(round => round.Key)
            .Select(round => round.Select(x => (x.item, x.index)).ToArray());

    /// <summary>A parameter stored as the column of <paramref name="property"/> stores its values (SQLite keeps instants as numbers).</summary>
    public static void AddColumnParameter(this DbCommand command, LedgerDbContext db, string name, string property, object? value) =>
        command.AddColumnParameter(name, db.Model.FindEntityType(typeof(ImageRequest))!.FindProperty(property)!, value);

    /// <inheritdoc cref="AddColumnParameter(DbCommand, LedgerDbContext, string, string, object?)"/>
    public static void AddColumnParameter(this DbCommand command, string name, IProperty property, object? value) =>
        command.Parameters.Add(property.GetRelationalTypeMapping().CreateParameter(command, name, value, nullable: true));

    /// <summary>A PostgreSQL array parameter, one element per row of the statement.</summary>
    public static NpgsqlParameter Array<T>(string name, NpgsqlDbType elementType, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | elementType) { Value = values.ToArray() };

    /// <summary>
    /// A PostgreSQL array parameter of <paramref name="column"/>'s values as the column stores them (its value converter
    /// applied), one element per row; Npgsql types the array by its elements' type.
    /// </summary>
    public static NpgsqlParameter ColumnArray(string name, IProperty column, IReadOnlyList<object?> values)
    {
        var converter = column.GetTypeMapping().Converter;
        var stored = System.Array.CreateInstance(converter?.ProviderClrType ?? column.ClrType, values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            stored.SetValue(values[i] is { } value && converter is not null ? converter.ConvertToProvider(value) : values[i], i);
        }

        return new NpgsqlParameter(name, stored);
    }

    /// <summary>The request ids a statement returned: the rows it changed.</summary>
    public static async Task<HashSet<Guid>> ReadRequestIdsAsync(this DbCommand command, CancellationToken cancellationToken)
    {
        var ids = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    /// <summary>
    /// Runs one statement per round of <paramref name="items"/> (<see cref="Rounds"/>) on a pooled context's connection;
    /// <paramref name="prepare"/> writes a round's text and parameters. One result per item, in order: true when its
    /// statement returned its request id.
    /// </summary>
    public static Task<bool[]> RunInRoundsAsync<T>(
        IDbContextFactory<LedgerDbContext> contexts, IReadOnlyList<T> items, Func<T, Guid> requestId,
        Action<DbCommand, LedgerDbContext, T[]> prepare, CancellationToken cancellationToken) =>
        RunInRoundsAsync(contexts, items, requestId, async (db, round, ct) =>
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            prepare(command, db, round);
            return await command.ReadRequestIdsAsync(ct);
        }, cancellationToken);

    /// <summary>
    /// Runs <paramref name="runRound"/> for each round of <paramref name="items"/> (<see cref="Rounds"/>) on one pooled
    /// context's open connection; it returns the request ids its statements applied to. One result per item, in order.
    /// The rounds are one transaction when there are several (and on SQLite, whose rounds run row by row): a batch that
    /// fails leaves nothing done, so that each of its items can run again alone and get its own answer.
    /// </summary>
    public static async Task<bool[]> RunInRoundsAsync<T>(
        IDbContextFactory<LedgerDbContext> contexts, IReadOnlyList<T> items, Func<T, Guid> requestId,
        Func<LedgerDbContext, T[], CancellationToken, Task<HashSet<Guid>>> runRound, CancellationToken cancellationToken)
    {
        var results = new bool[items.Count];
        var rounds = Rounds(items, requestId).ToList();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var transaction = rounds.Count > 1 || !db.Database.IsNpgsql() ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
            foreach (var round in rounds)
            {
                var applied = await runRound(db, [.. round.Select(x => x.Item)], cancellationToken);
                foreach (var (item, index) in round)
                {
                    results[index] = applied.Contains(requestId(item));
                }
            }

            if (transaction is not null)
            {
                await transaction.CommitAsync(cancellationToken);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        return results;
    }
}
