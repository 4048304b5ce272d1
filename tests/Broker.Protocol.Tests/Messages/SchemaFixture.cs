using System.Collections.Concurrent;
using ProtocolGenerator.Schema;

namespace Broker.Protocol.Tests.Messages;

/// <summary>
/// Locates the repository (the directory holding Operator.sln) and the Kafka schemas beside it
/// (../shared/kafka-protocol), and caches the parsed schemas. A missing schema directory is a test failure,
/// never a skip. Thread-safe.
/// </summary>
internal static class SchemaFixture
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);
    private static readonly Lazy<IReadOnlyList<MessageSpec>> Specs = new(() => SchemaLoader.LoadAll(SchemaDirectory));
    private static readonly ConcurrentDictionary<string, MessageSpec> ByClrName = new(StringComparer.Ordinal);

    public static string RepositoryRoot => Root.Value;

    public static string ProtocolProjectDirectory => Path.Combine(RepositoryRoot, "broker", "src", "Broker.Protocol");

    public static string SchemaDirectory
    {
        get
        {
            var dir = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "kafka-protocol"));
            Assert.True(
                Directory.Exists(Path.Combine(dir, "clients")),
                $"Kafka schema directory not found at '{dir}' (expected ../shared/kafka-protocol beside the repository). "
                + "The generated messages cannot be checked without it.");
            return dir;
        }
    }

    public static IReadOnlyList<MessageSpec> All => Specs.Value;

    /// <summary>The schema of a generated type, by its full CLR name (e.g. "Broker.Protocol.Messages.ProduceRequest").</summary>
    public static MessageSpec ForType(Type type)
    {
        if (ByClrName.IsEmpty)
        {
            foreach (var m in All)
            {
                ByClrName.TryAdd(m.Namespace + "." + m.Name, m);
            }
        }

        Assert.True(ByClrName.TryGetValue(type.FullName!, out var spec), $"No schema generates {type.FullName}.");
        return spec;
    }

    /// <summary>Every generated top-level message type in Broker.Protocol.</summary>
    public static IEnumerable<Type> GeneratedMessageTypes() =>
        typeof(Broker.Protocol.Messages.IApiMessage).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false, IsNested: false }
                && typeof(Broker.Protocol.Messages.IApiMessage).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal);

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Operator.sln above {AppContext.BaseDirectory}.");
    }
}
