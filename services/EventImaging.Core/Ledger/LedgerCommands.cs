using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace EventImaging.Core.Ledger;

/// <summary>
/// What the hand-written multi-row ledger statements share: parameters stored as EF Core stores the column (SQLite keeps
/// instants as numbers), the request ids a statement returns, and the rounds that keep a request id once per statement.
/// </summary>
internal static class LedgerCommands
{
    /// <summary>A parameter stored as the column of <paramref name="property"/> stores its values.</summary>
    public static void Add(LedgerDbContext db, DbCommand command, string name, string property, object? value) =>
        Add(command, name, db.Model.FindEntityType(typeof(ImageRequest))!.FindProperty(property)!, value);

    /// <inheritdoc cref="Add(LedgerDbContext, DbCommand, string, string, object?)"/>
    public static void Add(DbCommand command, string name, IProperty property, object? value) =>
        command.Parameters.Add(property.GetRelationalTypeMapping().CreateParameter(command, name, value, nullable: true));

    /// <summary>Runs <paramref name="command"/> and returns the request ids it returned.</summary>
    public static async Task<HashSet<Guid>> ReadIdsAsync(DbCommand command, CancellationToken cancellationToken)
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
    /// The items in rounds, each request id at most once per round: round k holds the k-th occurrence of each id, so a
    /// statement per round lets each occurrence see what the earlier ones did (nearly always a single round). Each item
    /// keeps its index in <paramref name="items"/>.
    /// </summary>
    public static IEnumerable<(T Item, int Index)[]> Rounds<T>(IReadOnlyList<T> items, Func<T, Guid> requestId) =>
        items.Select((item, index) => (item, index))
            .GroupBy(x => requestId(x.item))
            .SelectMany(occurrences => occurrences.Select((x, round) => (round, x.item, x.index)))
            .GroupBy(x => x.round)
            .OrderBy(round => round.Key)
            .Select(round => round.Select(x => (x.item, x.index)).ToArray());
}
