using System.Globalization;
using ProtocolGenerator.Schema;

namespace ProtocolGenerator.Emit;

/// <summary>Emits ApiKeys.g.cs (the API table) and MetadataRecordTypes.g.cs (the KRaft record table). Stateless.</summary>
internal static class TableEmitter
{
    private sealed record Api(MessageSpec Request, MessageSpec Response)
    {
        public string Name => Request.Name[..^"Request".Length];

        public short Key => Request.ApiKey!.Value;
    }

    public static string ApiKeys(IReadOnlyList<MessageSpec> messages)
    {
        var apis = Pair(messages);
        var w = new CodeWriter();
        MessageEmitter.FileHeader(w, "clients/*Request.json, clients/*Response.json");
        w.Line("using System.Collections.ObjectModel;");
        w.Line("using System.Diagnostics.CodeAnalysis;");
        w.Blank();
        w.Line("namespace Broker.Protocol.Messages;");
        w.Blank();
        w.Line("/// <summary>Kafka API keys: the first int16 of every request header.</summary>");
        w.Open("public enum ApiKey : short");
        foreach (var api in apis)
        {
            w.Line($"{api.Name} = {I(api.Key)},");
        }

        w.Close();
        w.Blank();
        w.Line("/// <summary>Kinds of listener an API is served on (the request schema's \"listeners\").</summary>");
        w.Line("[Flags]");
        w.Open("public enum ApiListeners");
        w.Line("None = 0,");
        w.Line("ZkBroker = 1,");
        w.Line("Broker = 2,");
        w.Line("Controller = 4,");
        w.Close();
        w.Blank();
        ApiMessageTypeClass(w, apis);
        w.Blank();
        ApiMessageTypesClass(w, apis);
        return w.ToString();
    }

    private static void ApiMessageTypeClass(CodeWriter w, List<Api> apis)
    {
        var hasControlledShutdown = apis.Any(a => a.Name == "ControlledShutdown");
        w.Line("/// <summary>Static facts about one API, from its request and response schemas. Immutable; thread-safe.</summary>");
        w.Open("public sealed class ApiMessageType");
        w.Line("private readonly short _requestFlexibleFrom;");
        w.Blank();
        w.Line("private readonly short _responseFlexibleFrom;");
        w.Blank();
        w.Line("internal ApiMessageType(ApiKey key, string name, short lowest, short highest, short requestFlexibleFrom,");
        w.Line("    short responseFlexibleFrom, ApiListeners listeners, bool latestVersionUnstable)");
        w.Open();
        w.Line("Key = key;");
        w.Line("Name = name;");
        w.Line("LowestSupportedVersion = lowest;");
        w.Line("HighestSupportedVersion = highest;");
        w.Line("_requestFlexibleFrom = requestFlexibleFrom;");
        w.Line("_responseFlexibleFrom = responseFlexibleFrom;");
        w.Line("Listeners = listeners;");
        w.Line("LatestVersionUnstable = latestVersionUnstable;");
        w.Close();
        w.Blank();
        w.Line("public ApiKey Key { get; }");
        w.Blank();
        w.Line("/// <summary>The API name without the Request/Response suffix, e.g. \"Produce\".</summary>");
        w.Line("public string Name { get; }");
        w.Blank();
        w.Line("/// <summary>Lowest version in the schema's validVersions.</summary>");
        w.Line("public short LowestSupportedVersion { get; }");
        w.Blank();
        w.Line("/// <summary>Highest version in the schema's validVersions.</summary>");
        w.Line("public short HighestSupportedVersion { get; }");
        w.Blank();
        w.Line("/// <summary>Listener kinds serving this API; controller-only APIs lack <see cref=\"ApiListeners.Broker\"/>.</summary>");
        w.Line("public ApiListeners Listeners { get; }");
        w.Blank();
        w.Line("/// <summary>The schema marks its highest version as still under development.</summary>");
        w.Line("public bool LatestVersionUnstable { get; }");
        w.Blank();
        w.Line("public bool IsSupported(short version) => version >= LowestSupportedVersion && version <= HighestSupportedVersion;");
        w.Blank();
        w.Line("public bool IsRequestFlexible(short version) => _requestFlexibleFrom >= 0 && version >= _requestFlexibleFrom;");
        w.Blank();
        w.Line("public bool IsResponseFlexible(short version) => _responseFlexibleFrom >= 0 && version >= _responseFlexibleFrom;");
        w.Blank();
        w.Line("/// <summary>Request header version: 2 for a flexible request version, else 1"
            + (hasControlledShutdown ? " (0 for ControlledShutdown v0)" : "") + ".</summary>");
        w.Open("public short RequestHeaderVersion(short version)");
        if (hasControlledShutdown)
        {
            w.Open("if (Key == ApiKey.ControlledShutdown && version == 0)");
            w.Line("return 0;");
            w.Close();
            w.Blank();
        }

        w.Line("return IsRequestFlexible(version) ? (short)2 : (short)1;");
        w.Close();
        w.Blank();
        w.Line("/// <summary>Response header version: 1 for a flexible response version, else 0; always 0 for ApiVersions (KIP-511).</summary>");
        w.Open("public short ResponseHeaderVersion(short version)");
        w.Open("if (Key == ApiKey.ApiVersions)");
        w.Line("return 0;");
        w.Close();
        w.Blank();
        w.Line("return IsResponseFlexible(version) ? (short)1 : (short)0;");
        w.Close();
        w.Blank();
        w.Line("public IApiMessage CreateRequest() => ApiMessageTypes.CreateRequest(Key);");
        w.Blank();
        w.Line("public IApiMessage CreateResponse() => ApiMessageTypes.CreateResponse(Key);");
        w.Blank();
        w.Line("public override string ToString() => Name;");
        w.Close();
    }

    private static void ApiMessageTypesClass(CodeWriter w, List<Api> apis)
    {
        var maxKey = apis.Max(a => a.Key);
        w.Line("/// <summary>The table of every API in the schemas, indexed by API key. Immutable; thread-safe.</summary>");
        w.Open("public static class ApiMessageTypes");
        w.Line($"private static readonly ApiMessageType?[] ByKey = new ApiMessageType?[{I(maxKey + 1)}];");
        w.Blank();
        w.Line("private static readonly ReadOnlyCollection<ApiMessageType> AllTypes = Build();");
        w.Blank();
        w.Line("/// <summary>Every API, ordered by key.</summary>");
        w.Line("public static IReadOnlyList<ApiMessageType> All => AllTypes;");
        w.Blank();
        w.Line($"public const short MaxApiKey = {I(maxKey)};");
        w.Blank();
        w.Open("public static bool TryGet(short apiKey, [NotNullWhen(true)] out ApiMessageType? type)");
        w.Line("type = (uint)apiKey < (uint)ByKey.Length ? ByKey[apiKey] : null;");
        w.Line("return type is not null;");
        w.Close();
        w.Blank();
        w.Line("public static ApiMessageType Get(ApiKey key) =>");
        w.Line("    TryGet((short)key, out var type) ? type : throw new ArgumentOutOfRangeException(nameof(key), key, \"Unknown API key.\");");
        w.Blank();
        w.Line("public static short RequestHeaderVersion(ApiKey key, short version) => Get(key).RequestHeaderVersion(version);");
        w.Blank();
        w.Line("public static short ResponseHeaderVersion(ApiKey key, short version) => Get(key).ResponseHeaderVersion(version);");
        w.Blank();
        Factory(w, "CreateRequest", apis, a => a.Request.Name);
        w.Blank();
        Factory(w, "CreateResponse", apis, a => a.Response.Name);
        w.Blank();
        w.Open("private static ReadOnlyCollection<ApiMessageType> Build()");
        w.Line("ApiMessageType[] all =");
        w.Line("[");
        foreach (var a in apis)
        {
            var listeners = a.Request.Listeners.Count == 0
                ? "ApiListeners.None"
                : string.Join(" | ", a.Request.Listeners.Order(StringComparer.Ordinal).Select(Listener));
            w.Line($"    new(ApiKey.{a.Name}, \"{a.Name}\", {I(a.Request.ValidVersions.Lo)}, {I(a.Request.ValidVersions.Hi)}, "
                + $"{FlexibleFrom(a.Request)}, {FlexibleFrom(a.Response)}, {listeners}, "
                + $"{(a.Request.LatestVersionUnstable ? "true" : "false")}),");
        }

        w.Line("];");
        w.Blank();
        w.Open("foreach (var type in all)");
        w.Line("ByKey[(short)type.Key] = type;");
        w.Close();
        w.Blank();
        w.Line("return Array.AsReadOnly(all);");
        w.Close();
        w.Close();
    }

    private static void Factory(CodeWriter w, string method, List<Api> apis, Func<Api, string> className)
    {
        w.Open($"public static IApiMessage {method}(ApiKey key) => key switch");
        foreach (var a in apis)
        {
            w.Line($"ApiKey.{a.Name} => new {className(a)}(),");
        }

        w.Line("_ => throw new ArgumentOutOfRangeException(nameof(key), key, \"Unknown API key.\"),");
        w.Close(";");
    }

    public static string MetadataRecordTypes(IReadOnlyList<MessageSpec> messages)
    {
        var records = messages.Where(m => m.Folder == "Metadata" && m.ApiKey is not null)
            .OrderBy(m => m.ApiKey).ToList();
        var w = new CodeWriter();
        MessageEmitter.FileHeader(w, "metadata/*Record.json");
        w.Line("using System.Diagnostics.CodeAnalysis;");
        w.Line("using Broker.Protocol.Messages;");
        w.Blank();
        w.Line("namespace Broker.Protocol.Metadata;");
        w.Blank();
        w.Line("/// <summary>KRaft metadata record types (the schema's apiKey), written before the record version in the metadata log.</summary>");
        w.Open("public enum MetadataRecordType : short");
        foreach (var r in records)
        {
            w.Line($"{r.Name} = {I(r.ApiKey!.Value)},");
        }

        w.Close();
        w.Blank();
        w.Line("/// <summary>Factories and version ranges of the KRaft metadata records. Stateless; thread-safe.</summary>");
        w.Open("public static class MetadataRecordTypes");
        w.Open("public static IApiMessage Create(MetadataRecordType type) => type switch");
        foreach (var r in records)
        {
            w.Line($"MetadataRecordType.{r.Name} => new {r.Name}(),");
        }

        w.Line("_ => throw new ArgumentOutOfRangeException(nameof(type), type, \"Unknown metadata record type.\"),");
        w.Close(";");
        w.Blank();
        w.Open("public static bool TryCreate(short type, [NotNullWhen(true)] out IApiMessage? record)");
        w.Line("var known = Enum.IsDefined((MetadataRecordType)type);");
        w.Line("record = known ? Create((MetadataRecordType)type) : null;");
        w.Line("return known;");
        w.Close();
        w.Blank();
        w.Open("public static short LowestSupportedVersion(MetadataRecordType type) => type switch");
        foreach (var r in records)
        {
            w.Line($"MetadataRecordType.{r.Name} => {r.Name}.LowestSupportedVersion,");
        }

        w.Line("_ => throw new ArgumentOutOfRangeException(nameof(type), type, \"Unknown metadata record type.\"),");
        w.Close(";");
        w.Blank();
        w.Open("public static short HighestSupportedVersion(MetadataRecordType type) => type switch");
        foreach (var r in records)
        {
            w.Line($"MetadataRecordType.{r.Name} => {r.Name}.HighestSupportedVersion,");
        }

        w.Line("_ => throw new ArgumentOutOfRangeException(nameof(type), type, \"Unknown metadata record type.\"),");
        w.Close(";");
        w.Close();
        return w.ToString();
    }

    private static List<Api> Pair(IReadOnlyList<MessageSpec> messages)
    {
        var responses = messages.Where(m => m.Kind == "response").ToDictionary(m => m.ApiKey!.Value);
        var apis = new List<Api>();
        foreach (var request in messages.Where(m => m.Kind == "request").OrderBy(m => m.ApiKey))
        {
            var key = request.ApiKey ?? throw new InvalidDataException($"{request.SourcePath}: request without apiKey.");
            if (!request.Name.EndsWith("Request", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{request.SourcePath}: request name must end with Request.");
            }

            if (!responses.TryGetValue(key, out var response))
            {
                throw new InvalidDataException($"{request.SourcePath}: no response schema with apiKey {key}.");
            }

            if (response.ValidVersions != request.ValidVersions)
            {
                throw new InvalidDataException($"{request.SourcePath}: request and response versions differ.");
            }

            apis.Add(new Api(request, response));
        }

        return apis;
    }

    private static string FlexibleFrom(MessageSpec m) => m.FlexibleVersions.IsEmpty ? "-1" : I(m.FlexibleVersions.Lo);

    private static string Listener(string name) => name switch
    {
        "zkBroker" => "ApiListeners.ZkBroker",
        "broker" => "ApiListeners.Broker",
        "controller" => "ApiListeners.Controller",
        _ => throw new InvalidDataException($"Unknown listener '{name}'."),
    };

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
