using System.Collections.Immutable;
using System.Text.Json.Nodes;
using Operator.Api;

namespace Operator.Model.Tests;

/// <summary>Invalid resources: the model refuses them and each error names the resource and the field.</summary>
public sealed class BadInputTests
{
    private static ValidationError SingleError(Kafka kafka, List<KafkaNodePool> pools, ModelOptions? options = null)
    {
        Assert.False(KafkaClusterModel.TryFrom(kafka, pools, options ?? Repo.Options(), out var model, out var errors));
        Assert.Null(model);
        var error = Assert.Single(errors);
        var thrown = Assert.Throws<InvalidKafkaResourceException>(() => KafkaClusterModel.From(kafka, pools, options ?? Repo.Options()));
        Assert.Equal(errors, thrown.Errors);
        return error;
    }

    private static (Kafka Kafka, List<KafkaNodePool> Pools) Persistent() => Repo.KafkaExample("kafka/kafka-persistent.yaml");

    [Fact]
    public void DuplicateListenerName_NamesTheSecondListener()
    {
        var (kafka, pools) = Persistent();
        kafka.Spec!.Kafka!.Listeners![1].Name = "plain";
        var error = SingleError(kafka, pools);
        Assert.Equal(("Kafka/my-cluster", "spec.kafka.listeners[1].name"), (error.Resource, error.Field));
        Assert.Contains("duplicate listener name 'plain'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(30, 30)]
    [InlineData(null, 365)]
    public void CaRenewalDaysNotBelowValidityDays_NamesRenewalDays(int? validityDays, int renewalDays)
    {
        var (kafka, pools) = Persistent();
        kafka.Spec!.ClientsCa = new Api.CertificateAuthority { ValidityDays = validityDays, RenewalDays = renewalDays };
        var error = SingleError(kafka, pools);
        Assert.Equal(("Kafka/my-cluster", "spec.clientsCa.renewalDays"), (error.Resource, error.Field));
        Assert.Contains("must be less than spec.clientsCa.validityDays", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateListenerPort_NamesThePort()
    {
        var (kafka, pools) = Persistent();
        kafka.Spec!.Kafka!.Listeners![1].Port = 9092;
        var error = SingleError(kafka, pools);
        Assert.Equal("spec.kafka.listeners[1].port", error.Field);
        Assert.Contains("duplicate port 9092", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(9404)]
    [InlineData(9999)]
    [InlineData(9091)]
    [InlineData(8080)]
    public void ReservedOrLowPort_IsRefused(int port)
    {
        var (kafka, pools) = Persistent();
        kafka.Spec!.Kafka!.Listeners![0].Port = port;
        var error = SingleError(kafka, pools);
        Assert.Equal("spec.kafka.listeners[0].port", error.Field);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoBrokerRole_IsRefused()
    {
        var (kafka, pools) = Persistent();
        pools.RemoveAll(p => p.Metadata.Name == "broker");
        var error = SingleError(kafka, pools);
        Assert.Equal(("Kafka/my-cluster", "KafkaNodePool.spec.roles"), (error.Resource, error.Field));
        Assert.Contains("broker role", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoControllerRole_IsRefused()
    {
        var (kafka, pools) = Persistent();
        pools.RemoveAll(p => p.Metadata.Name == "controller");
        var error = SingleError(kafka, pools);
        Assert.Equal("KafkaNodePool.spec.roles", error.Field);
        Assert.Contains("controller role", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NodePoolOfAnotherCluster_NamesItsLabel()
    {
        var (kafka, pools) = Persistent();
        pools.Single(p => p.Metadata.Name == "broker").Metadata.Labels[StrimziLabels.Cluster] = "missing-cluster";
        var error = SingleError(kafka, pools);
        Assert.Equal(("KafkaNodePool/broker", "metadata.labels[strimzi.io/cluster]"), (error.Resource, error.Field));
        Assert.Contains("'missing-cluster'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StorageShrink_NamesTheVolumeSize()
    {
        var (kafka, pools) = Persistent();
        var deployed = new Storage
        {
            Type = "jbod",
            Volumes = [new Storage { Id = 0, Type = "persistent-claim", Size = "200Gi", KraftMetadata = "shared" }],
        };
        var error = SingleError(kafka, pools, Repo.Options(storage: ImmutableDictionary<string, Storage>.Empty.Add("broker", deployed)));
        Assert.Equal(("KafkaNodePool/broker", "spec.storage.volumes[0].size"), (error.Resource, error.Field));
        Assert.Contains("cannot shrink from 200Gi to 100Gi", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StorageGrowth_IsAccepted()
    {
        var (kafka, pools) = Persistent();
        var deployed = new Storage { Type = "jbod", Volumes = [new Storage { Id = 0, Type = "persistent-claim", Size = "50Gi" }] };
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options(storage: ImmutableDictionary<string, Storage>.Empty.Add("broker", deployed)));
        Assert.Equal("100Gi", model.BuildClaims(model.Pool("broker"), 0)[0].Spec.Resources.Requests["storage"].ToString());
    }

    [Fact]
    public void StorageTypeChange_NamesTheType()
    {
        var (kafka, pools) = Persistent();
        var deployed = new Storage { Type = "ephemeral" };
        var error = SingleError(kafka, pools, Repo.Options(storage: ImmutableDictionary<string, Storage>.Empty.Add("controller", deployed)));
        Assert.Equal(("KafkaNodePool/controller", "spec.storage.type"), (error.Resource, error.Field));
        Assert.Contains("from ephemeral to jbod", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JbodVolumeTypeChange_NamesTheVolume()
    {
        var (kafka, pools) = Persistent();
        var deployed = new Storage { Type = "jbod", Volumes = [new Storage { Id = 0, Type = "ephemeral" }] };
        var error = SingleError(kafka, pools, Repo.Options(storage: ImmutableDictionary<string, Storage>.Empty.Add("broker", deployed)));
        Assert.Equal("spec.storage.volumes[0].type", error.Field);
    }

    [Theory]
    [InlineData("listeners")]
    [InlineData("advertised.listeners")]
    [InlineData("node.id")]
    [InlineData("log.dirs")]
    [InlineData("ssl.keystore.location")]
    [InlineData("controller.quorum.voters")]
    [InlineData("health.port")]
    [InlineData("cluster.id")]
    public void ForbiddenConfigKey_NamesTheKey(string key)
    {
        var (kafka, pools) = Persistent();
        kafka.Spec!.Kafka!.Config![key] = "x";
        var error = SingleError(kafka, pools);
        Assert.Equal("spec.kafka.config." + key, error.Field);
    }

    [Theory]
    [InlineData("ssl.cipher.suites")]
    [InlineData("controller.quorum.election.timeout.ms")]
    [InlineData("listener.name.plain-9092.max.connections")]
    [InlineData("log.retention.hours")]
    public void AllowedConfigKey_IsPassedThrough(string key)
    {
        var (kafka, pools) = Persistent();
        kafka.Spec!.Kafka!.Config![key] = JsonValue.Create(42);
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options());
        Assert.Contains("\n" + key + "=42\n", model.BuildServerProperties(model.Pool("broker"), 0), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingListenersAndLegacyStorage_AreBothReported()
    {
        var kafka = (Kafka)Repo.ReadExample("seed/kafka-sample-resources.yaml").Single();
        Assert.False(KafkaClusterModel.TryFrom(kafka, [], Repo.Options(), out _, out var errors));
        Assert.Equal(["spec.kafka.listeners", "spec.kafka.storage"], errors.Select(e => e.Field));
    }

    [Fact]
    public void NoPoolAndNoReplicas_NamesSpecKafkaReplicas()
    {
        var (kafka, _) = Persistent();
        var error = SingleError(kafka, []);
        Assert.Equal("spec.kafka.replicas", error.Field);
        Assert.Contains("no KafkaNodePool", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IngressWithoutTls_NamesTls()
    {
        var (kafka, pools) = Persistent();
        kafka.Spec!.Kafka!.Listeners!.Add(new GenericKafkaListener { Name = "ing", Port = 9095, Type = "ingress", Tls = false });
        Assert.Equal("spec.kafka.listeners[2].tls", SingleError(kafka, pools).Field);
    }

    [Fact]
    public void DuplicateJbodVolumeId_NamesTheId()
    {
        var (kafka, pools) = Persistent();
        pools[0].Spec!.Storage!.Volumes!.Add(new Storage { Id = 0, Type = "ephemeral" });
        Assert.Equal("spec.storage.volumes[1].id", SingleError(kafka, pools).Field);
    }
}

/// <summary>A node pool checked on its own, as the reconciler will when a pool changes.</summary>
public sealed class NodePoolCheckTests
{
    [Fact]
    public void PoolPointingAtMissingCluster_NamesItsLabel()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var pool = pools[0];
        pool.Metadata.NamespaceProperty = Repo.Namespace;
        pool.Metadata.Labels[StrimziLabels.Cluster] = "other";
        Assert.False(KafkaNodePoolChecks.TryFindCluster(pool, [kafka], out var found, out var error));
        Assert.Null(found);
        Assert.Equal(("KafkaNodePool/controller", "metadata.labels[strimzi.io/cluster]"), (error!.Resource, error.Field));
        Assert.Equal("Kafka cluster 'other' does not exist in namespace myproject", error.Message);
    }

    [Fact]
    public void PoolWithoutLabel_NamesItsLabel_AndMatchingPool_FindsItsKafka()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        Assert.True(KafkaNodePoolChecks.TryFindCluster(pools[1], [kafka], out var found, out _));
        Assert.Same(kafka, found);
        pools[0].Metadata.Labels.Remove(StrimziLabels.Cluster);
        Assert.False(KafkaNodePoolChecks.TryFindCluster(pools[0], [kafka], out _, out var error));
        Assert.Equal("metadata.labels[strimzi.io/cluster]", error!.Field);
    }
}

public sealed class NameLengthTests
{
    [Fact]
    public void TooLongGeneratedPodName_NamesThePoolName()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "broker").Metadata.Name = new string('b', 55);
        Assert.False(KafkaClusterModel.TryFrom(kafka, pools, Repo.Options(), out _, out var errors));
        var error = Assert.Single(errors);
        Assert.Equal(("KafkaNodePool/" + new string('b', 55), "metadata.name"), (error.Resource, error.Field));
        Assert.Contains("more than 63", error.Message, StringComparison.Ordinal);
    }
}
