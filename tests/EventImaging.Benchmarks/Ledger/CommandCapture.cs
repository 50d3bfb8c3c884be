using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace EventImaging.Benchmarks.Ledger;

/// <summary>One SQL statement EF Core sent, with its parameters, and how long it took as the client saw it.</summary>
internal sealed record CapturedCommand(string Sql, NpgsqlParameter[] Parameters, TimeSpan Duration);

/// <summary>Records the statements EF Core sends while <see cref="Recording"/> is on (the ledger's SQL, as issued).</summary>
internal sealed class CommandCapture : DbCommandInterceptor
{
    private readonly List<CapturedCommand> commands = [];

    public bool Recording { get; set; }

    public IReadOnlyList<CapturedCommand> Take()
    {
        lock (commands)
        {
            var taken = commands.ToList();
            commands.Clear();
            return taken;
        }
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Record(command, eventData);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Record(command, eventData);
        return ValueTask.FromResult(result);
    }

    private void Record(DbCommand command, CommandExecutedEventData eventData)
    {
        if (!Recording)
        {
            return;
        }

        var parameters = command.Parameters.Cast<NpgsqlParameter>().Select(p => p.Clone()).ToArray();
        lock (commands)
        {
            commands.Add(new CapturedCommand(command.CommandText, parameters, eventData.Duration));
        }
    }
}
