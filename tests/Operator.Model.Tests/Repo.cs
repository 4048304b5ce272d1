using System.Collections.Immutable;
using Operator.Api;
using Operator.Model;

namespace Operator.Model.Tests;

/// <summary>Paths in the checkout and the inputs shared by the tests. Stateless; thread-safe.</summary>
internal static class Repo
{
    public const string Namespace = "myproject";
    public const string ClusterId = "cHGvf2kKRe2yA3-Nn-0Qfw";
    public const string KafkaUid = "3f0c1d8e-0000-4000-8000-000000000001";

    public static string Root { get; } = FindRoot();

    public static string ExamplesDir => Path.Combine(Root, "examples");

    public static string GoldenDir => Path.Combine(Root, "tests", "Operator.Model.Tests", "golden");

    /// <summary>Every Kubernetes example file, relative to examples/, with forward slashes, sorted. examples/docker holds
    /// Docker Compose files, not Kubernetes manifests (the end-to-end suite runs them).</summary>
    public static IReadOnlyList<string> Examples { get; } =
        [.. Directory.EnumerateFiles(ExamplesDir, "*.yaml", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(ExamplesDir, p).Replace('\\', '/'))
            .Where(p => !p.StartsWith("docker/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    public static TheoryData<string> ExampleData()
    {
        var data = new TheoryData<string>();
        foreach (var example in Examples)
        {
            data.Add(example);
        }

        return data;
    }

    public static IReadOnlyList<object> ReadExample(string relative) =>
        [.. Manifests.ReadYaml(File.ReadAllText(Path.Combine(ExamplesDir, relative))).Select(Manifests.ToResource)];

    public static ModelOptions Options(
        ImmutableDictionary<string, ImmutableArray<int>>? nodeIds = null,
        ImmutableDictionary<string, Storage>? storage = null) => new()
        {
            Namespace = Namespace,
            ClusterId = ClusterId,
            Image = "kafka-broker:test",
            NodeIds = nodeIds ?? ImmutableDictionary<string, ImmutableArray<int>>.Empty,
            CurrentStorage = storage ?? ImmutableDictionary<string, Storage>.Empty,
        };

    /// <summary>The Kafka and its pools from an example file, with a fixed uid for owner references.</summary>
    public static (Kafka Kafka, List<KafkaNodePool> Pools) KafkaExample(string relative)
    {
        var resources = ReadExample(relative);
        var kafka = resources.OfType<Kafka>().Single();
        kafka.Metadata.Uid = KafkaUid;
        return (kafka, resources.OfType<KafkaNodePool>().ToList());
    }

    public static KafkaClusterModel Model(string relative)
    {
        var (kafka, pools) = KafkaExample(relative);
        return KafkaClusterModel.From(kafka, pools, Options());
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Operator.sln not found above " + AppContext.BaseDirectory);
    }
}
