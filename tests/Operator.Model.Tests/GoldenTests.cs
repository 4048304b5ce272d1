using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Operator.Api;

namespace Operator.Model.Tests;

/// <summary>
/// Every example goes through the model; its whole output is compared with golden/&lt;example path&gt;.
/// To regenerate after an intended change: <c>UPDATE_GOLDEN=1 dotnet test tests/Operator.Model.Tests</c>, then
/// review the diff of golden/ before committing it (the test then still fails once, on purpose, so a run with
/// UPDATE_GOLDEN=1 can never pass unnoticed).
/// </summary>
public sealed class GoldenTests
{
    private static readonly JsonSerializerOptions Json = new(Manifests.JsonOptions) { WriteIndented = true };

    public static TheoryData<string> Examples() => Repo.ExampleData();

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_ModelOutput_MatchesGolden(string example)
    {
        var actual = Render(example);
        var path = Path.Combine(Repo.GoldenDir, example);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            Assert.Fail($"golden/{example} rewritten (UPDATE_GOLDEN=1): review the diff, then run without it");
        }

        Assert.True(File.Exists(path), $"golden/{example} is missing: run with UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    [Fact]
    public void Render_IsDeterministic()
    {
        Assert.Equal(Render("kafka/kafka-jbod.yaml"), Render("kafka/kafka-jbod.yaml"));
    }

    [Fact]
    public void EveryGoldenFile_HasAnExample()
    {
        var golden = Directory.EnumerateFiles(Repo.GoldenDir, "*.yaml", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Repo.GoldenDir, p).Replace('\\', '/')).Order(StringComparer.Ordinal);
        Assert.Equal(Repo.Examples, golden);
    }

    /// <summary>The model's outcome for one example file, as YAML (JSON documents for statuses and entity models).</summary>
    internal static string Render(string example) => Render(example, Repo.ReadExample(example));

    internal static string Render(string example, IReadOnlyList<object> resources)
    {
        var text = new StringBuilder();
        text.Append("# Operator.Model output for examples/").Append(example)
            .Append(" (namespace ").Append(Repo.Namespace).Append("). Regenerate: UPDATE_GOLDEN=1, see GoldenTests.cs.\n");
        foreach (var kafka in resources.OfType<Kafka>())
        {
            kafka.Metadata.Uid = Repo.KafkaUid;
            var pools = resources.OfType<KafkaNodePool>().ToList();
            if (!KafkaClusterModel.TryFrom(kafka, pools, Repo.Options(), out var model, out var errors))
            {
                text.Append("# Kafka/").Append(kafka.Metadata.Name).Append(" is invalid:\n");
                foreach (var error in errors)
                {
                    text.Append("#   ").Append(error).Append('\n');
                }

                continue;
            }

            foreach (var warning in model!.Warnings)
            {
                text.Append("# Warning ").Append(warning.Reason).Append(": ").Append(warning.Message).Append('\n');
            }

            foreach (var obj in model.BuildAll())
            {
                if (obj is StrimziPodSet podSet)
                {
                    // The pod set's own fields, then each pod it holds as the YAML of a Pod.
                    var pods = podSet.Spec!.Pods!;
                    podSet.Spec.Pods = null;
                    text.Append("---\n").Append(KubernetesYaml.Serialize(podSet).TrimEnd('\n')).Append('\n');
                    foreach (var pod in pods)
                    {
                        text.Append("# ").Append(podSet.Metadata.Name).Append(" spec.pods[]\n")
                            .Append(KubernetesYaml.Serialize(KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString())).TrimEnd('\n')).Append('\n');
                    }

                    continue;
                }

                text.Append("---\n").Append(KubernetesYaml.Serialize(obj).TrimEnd('\n')).Append('\n');
            }

            text.Append("---\n# Kafka/").Append(kafka.Metadata.Name).Append(" status (model part)\n")
                .Append(JsonSerializer.Serialize(model.BuildStatus(), Json)).Append('\n');
            foreach (var pool in model.Pools)
            {
                text.Append("---\n# KafkaNodePool/").Append(pool.Name).Append(pool.Source is null ? " (implicit)" : string.Empty).Append(" status\n")
                    .Append(JsonSerializer.Serialize(model.BuildNodePoolStatus(pool), Json)).Append('\n');
            }
        }

        foreach (var topic in resources.OfType<KafkaTopic>())
        {
            Assert.True(KafkaTopicModel.TryFrom(topic, out var model, out var errors), string.Join("; ", errors));
            text.Append("---\n# KafkaTopic/").Append(topic.Metadata.Name).Append('\n').Append(JsonSerializer.Serialize(model, Json)).Append('\n');
        }

        foreach (var user in resources.OfType<KafkaUser>())
        {
            Assert.True(KafkaUserModel.TryFrom(user, secretPrefix: string.Empty, out var model, out var errors), string.Join("; ", errors));
            text.Append("---\n# KafkaUser/").Append(user.Metadata.Name).Append('\n').Append(JsonSerializer.Serialize(model, Json)).Append('\n');
        }

        return text.ToString();
    }
}
