using ProtocolGenerator.Emit;
using ProtocolGenerator.Schema;

namespace ProtocolGenerator;

/// <summary>
/// Entry points of the Kafka message generator. Output is deterministic: files are keyed by their path relative
/// to the Broker.Protocol project ("Messages/ProduceRequest.g.cs"), ordered ordinally, with '\n' newlines and no
/// timestamps, so regenerating is byte-identical. Stateless; thread-safe.
/// </summary>
public static class Generator
{
    /// <summary>Output folders below Broker.Protocol owned by the generator (every *.g.cs in them is generated).</summary>
    public static IReadOnlyList<string> OutputFolders { get; } = ["Messages", "Metadata", "Coordinator"];

    /// <summary>Generates every file in memory: relative path ("Messages/X.g.cs", forward slashes) to content.</summary>
    public static SortedDictionary<string, string> Generate(string schemaRoot)
    {
        var messages = SchemaLoader.LoadAll(schemaRoot);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var m in messages)
        {
            files.Add($"{m.Folder}/{m.Name}.g.cs", MessageEmitter.Emit(m));
        }

        files.Add("Messages/ApiKeys.g.cs", TableEmitter.ApiKeys(messages));
        files.Add("Metadata/MetadataRecordTypes.g.cs", TableEmitter.MetadataRecordTypes(messages));
        return files;
    }

    /// <summary>
    /// Generates into <paramref name="outputRoot"/> (the Broker.Protocol project directory): writes changed files and
    /// deletes stale *.g.cs files in <see cref="OutputFolders"/>. Hand-written files there are left alone.
    /// Returns the generated map.
    /// </summary>
    public static SortedDictionary<string, string> GenerateAll(string schemaRoot, string outputRoot)
    {
        var files = Generate(schemaRoot);
        foreach (var folder in OutputFolders)
        {
            var dir = Path.Combine(outputRoot, folder);
            Directory.CreateDirectory(dir);
            foreach (var existing in Directory.GetFiles(dir, "*.g.cs"))
            {
                if (!files.ContainsKey(folder + "/" + Path.GetFileName(existing)))
                {
                    File.Delete(existing);
                }
            }
        }

        foreach (var (relative, content) in files)
        {
            var path = Path.Combine(outputRoot, relative);
            if (!File.Exists(path) || File.ReadAllText(path) != content)
            {
                File.WriteAllText(path, content);
            }
        }

        return files;
    }
}
