using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace Operator.Model.Tests;

/// <summary>The rolling-update annotations of the pod templates: what changes them and what does not.</summary>
public sealed class PodRevisionTests
{
    private static (string Revision, string? Hash0, string? Hash2) Annotations(KafkaClusterModel model, string pool = "broker")
    {
        var annotations = model.BuildStatefulSet(model.Pool(pool)).Spec.Template.Metadata.Annotations;
        return (annotations[KafkaClusterModel.RevisionAnnotation],
            KafkaClusterModel.ConfigurationHashOf(annotations, 0), KafkaClusterModel.ConfigurationHashOf(annotations, 2));
    }

    [Fact]
    public void SameInput_SameAnnotations()
    {
        Assert.Equal(Annotations(Repo.Model("kafka/kafka-persistent.yaml")), Annotations(Repo.Model("kafka/kafka-persistent.yaml")));
    }

    [Fact]
    public void UserConfigChange_ChangesEveryNodeHash_NotTheRevision()
    {
        var before = Annotations(Repo.Model("kafka/kafka-persistent.yaml"));
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        (kafka.Spec!.Kafka!.Config ??= [])["log.retention.hours"] = JsonValue.Create(1);
        var after = Annotations(KafkaClusterModel.From(kafka, pools, Repo.Options()));
        Assert.Equal(before.Revision, after.Revision);
        Assert.NotEqual(before.Hash0, after.Hash0);
        Assert.NotEqual(before.Hash2, after.Hash2);
    }

    [Fact]
    public void PoolScaleUp_KeepsRevisionAndExistingNodeHashes()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [0, 1, 2]).Add("controller", [10, 11, 12]);
        var before = Annotations(KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing)));
        pools.Single(p => p.Metadata.Name == "broker").Spec!.Replicas = 4;
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing));
        Assert.Equal([0, 1, 2, 3], model.Pool("broker").NodeIds.ToArray());
        Assert.Equal(before, Annotations(model));
        Assert.NotNull(KafkaClusterModel.ConfigurationHashOf(model.BuildStatefulSet(model.Pool("broker")).Spec.Template.Metadata.Annotations, 3));
    }

    [Fact]
    public void ImageOrCaGenerationChange_ChangesTheRevision()
    {
        var before = Annotations(Repo.Model("kafka/kafka-persistent.yaml"));
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        kafka.Spec!.Kafka!.Image = "kafka-broker:other";
        Assert.NotEqual(before.Revision, Annotations(KafkaClusterModel.From(kafka, pools, Repo.Options())).Revision);

        (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var withCa = KafkaClusterModel.From(kafka, pools, Repo.Options() with { CaGenerations = new CaGenerations(0, 0, 0) });
        var renewed = KafkaClusterModel.From(kafka, pools, Repo.Options() with { CaGenerations = new CaGenerations(1, 0, 0) });
        Assert.NotEqual(Annotations(withCa).Revision, Annotations(renewed).Revision);
        Assert.Equal("1", renewed.BuildStatefulSet(renewed.Pool("broker")).Spec.Template.Metadata.Annotations[KafkaClusterModel.ClusterCaCertGenerationAnnotation]);
        Assert.Equal(Annotations(withCa).Hash0, Annotations(renewed).Hash0);
    }

    [Fact]
    public void ConfigurationHashOf_MissingOrMalformed_IsNull()
    {
        Assert.Null(KafkaClusterModel.ConfigurationHashOf(null, 0));
        Assert.Null(KafkaClusterModel.ConfigurationHashOf(new Dictionary<string, string> { [KafkaClusterModel.ConfigurationHashesAnnotation] = "not json" }, 0));
        Assert.Null(KafkaClusterModel.ConfigurationHashOf(new Dictionary<string, string> { [KafkaClusterModel.ConfigurationHashesAnnotation] = """{"1":"x"}""" }, 0));
    }
}
