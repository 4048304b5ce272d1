using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace Operator.Model.Tests;

/// <summary>The rolling-update annotations of each node's pod: what changes them and what does not.</summary>
public sealed class PodRevisionTests
{
    private static (string Revision, string Hash) Annotations(KafkaClusterModel model, int nodeId, string pool = "broker")
    {
        var annotations = model.BuildPod(model.Pool(pool), nodeId).Metadata.Annotations;
        return (annotations[KafkaClusterModel.RevisionAnnotation], annotations[KafkaClusterModel.ConfigurationHashAnnotation]);
    }

    [Fact]
    public void SameInput_SameAnnotations()
    {
        Assert.Equal(Annotations(Repo.Model("kafka/kafka-persistent.yaml"), 0), Annotations(Repo.Model("kafka/kafka-persistent.yaml"), 0));
    }

    [Fact]
    public void EachNode_HasItsOwnConfigurationHash()
    {
        var model = Repo.Model("kafka/kafka-persistent.yaml");
        Assert.NotEqual(Annotations(model, 0).Hash, Annotations(model, 1).Hash);
        Assert.Equal(model.NodeConfigurationHash(model.Pool("broker"), 2), Annotations(model, 2).Hash);
    }

    [Fact]
    public void UserConfigChange_ChangesEveryNodesHashAndRevision()
    {
        var before = Repo.Model("kafka/kafka-persistent.yaml");
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        (kafka.Spec!.Kafka!.Config ??= [])["log.retention.hours"] = JsonValue.Create(1);
        var after = KafkaClusterModel.From(kafka, pools, Repo.Options());
        foreach (var id in new[] { 0, 1, 2 })
        {
            Assert.NotEqual(Annotations(before, id).Hash, Annotations(after, id).Hash);
            Assert.NotEqual(Annotations(before, id).Revision, Annotations(after, id).Revision);
        }
    }

    [Fact]
    public void PoolScaleUp_LeavesTheExistingPodsUnchanged()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [0, 1, 2]).Add("controller", [3, 4, 5]);
        var before = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing));
        pools.Single(p => p.Metadata.Name == "broker").Spec!.Replicas = 4;
        var after = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing));
        Assert.Equal([0, 1, 2, 6], after.Pool("broker").NodeIds.ToArray());
        foreach (var id in new[] { 0, 1, 2 })
        {
            Assert.Equal(Annotations(before, id), Annotations(after, id));
        }

        Assert.Equal(Annotations(before, 3, "controller"), Annotations(after, 3, "controller"));
    }

    [Fact]
    public void ImageOrCaGenerationChange_ChangesTheRevision_NotTheConfigurationHash()
    {
        var before = Annotations(Repo.Model("kafka/kafka-persistent.yaml"), 0);
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        kafka.Spec!.Kafka!.Image = "kafka-broker:other";
        var image = Annotations(KafkaClusterModel.From(kafka, pools, Repo.Options()), 0);
        Assert.NotEqual(before.Revision, image.Revision);
        Assert.Equal(before.Hash, image.Hash);

        (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var withCa = KafkaClusterModel.From(kafka, pools, Repo.Options() with { CaGenerations = new CaGenerations(0, 0, 0) });
        var renewed = KafkaClusterModel.From(kafka, pools, Repo.Options() with { CaGenerations = new CaGenerations(1, 0, 0) });
        Assert.NotEqual(Annotations(withCa, 0).Revision, Annotations(renewed, 0).Revision);
        Assert.Equal("1", renewed.BuildPod(renewed.Pool("broker"), 0).Metadata.Annotations[KafkaClusterModel.ClusterCaCertGenerationAnnotation]);
        Assert.Equal(Annotations(withCa, 0).Hash, Annotations(renewed, 0).Hash);
    }
}
