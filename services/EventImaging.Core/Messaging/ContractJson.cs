using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EventImaging.Core.Messaging;

/// <summary>
/// Contract members are <c>required</c> for .NET publishers, but a body that omits one, or gives one the wrong JSON type,
/// must still reach the validator, which answers with an <c>ImageFailed</c> naming the field instead of an unreadable
/// message (<see cref="GenerateImageJson"/>).
/// </summary>
public static class ContractJson
{
    /// <summary>camelCase web defaults, with contract members that a body may omit (the validator names them).</summary>
    public static JsonSerializerOptions Relaxed { get; } = RelaxRequiredMembers(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions RelaxRequiredMembers(JsonSerializerOptions options)
    {
        if (options.TypeInfoResolver is RelaxedContractsResolver)
        {
            return options;
        }

        var relaxed = new JsonSerializerOptions(options)
        {
            TypeInfoResolver = new RelaxedContractsResolver(options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()),
        };
        relaxed.Converters.Add(new GenerateImageJson());
        return relaxed;
    }

    private sealed class RelaxedContractsResolver(IJsonTypeInfoResolver inner) : IJsonTypeInfoResolver
    {
        public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
        {
            var info = inner.GetTypeInfo(type, options);
            if (info is not null && type.Namespace == typeof(Contracts.GenerateImage).Namespace)
            {
                foreach (var property in info.Properties)
                {
                    property.IsRequired = false;
                }
            }

            return info;
        }
    }
}
