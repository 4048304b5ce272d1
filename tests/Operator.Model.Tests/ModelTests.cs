using System.Collections.Immutable;
using Operator.Api;

namespace Operator.Model.Tests;

/// <summary>Behaviour of the model beyond the goldens: node ids, legacy clusters, labels, statuses.</summary>
public sealed class ModelTests
{
    [Fact]
    public void FreshCluster_NumbersPoolsInNameOrder_LikeStrimzi()
    {
        var model = Repo.Model("kafka/kafka-persistent.yaml");
        Assert.Equal([0, 1, 2], model.Pool("broker").NodeIds.ToArray());
        Assert.Equal([3, 4, 5], model.Pool("controller").NodeIds.ToArray());
        var podSet = model.BuildPodSet(model.Pool("controller"));
        Assert.Equal("my-cluster-controller", podSet.Metadata.Name);
        Assert.Equal(["my-cluster-controller-3", "my-cluster-controller-4", "my-cluster-controller-5"], podSet.Spec!.Pods!.Select(p => (string?)p["metadata"]!["name"]));
        Assert.Equal("controller", podSet.Spec.Selector!.MatchLabels![StrimziLabels.PoolName]);
    }

    [Fact]
    public void ExistingIds_AreKept_AndScaleDownDropsTheHighest()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "controller").Spec!.Replicas = 2;
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [10, 11, 12]).Add("controller", [0, 1, 2]);
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing));
        Assert.Equal([10, 11, 12], model.Pool("broker").NodeIds.ToArray());
        Assert.Equal([0, 1], model.Pool("controller").NodeIds.ToArray());
        Assert.Equal([10, 11, 12], model.BuildNodePoolStatus(model.Pool("broker")).NodeIds);
    }

    [Fact]
    public void NewPool_TakesTheLowestFreeRange()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("controller", [0, 1, 2]);
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing));
        Assert.Equal([3, 4, 5], model.Pool("broker").NodeIds.ToArray());
    }

    [Fact]
    public void NewPoolWithNextNodeIds_TakesTheFreeListedIdsInOrder_AndGrowsWithThem()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var broker = pools.Single(p => p.Metadata.Name == "broker");
        broker.Metadata.Annotations = new Dictionary<string, string> { ["strimzi.io/next-node-ids"] = "[4, 10-19]" };
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("controller", [3, 4, 5])));
        Assert.Equal([10, 11, 12], model.Pool("broker").NodeIds.ToArray());

        broker.Spec!.Replicas = 4;
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [10, 11, 12]).Add("controller", [3, 4, 5]);
        Assert.Equal([10, 11, 12, 13], KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing)).Pool("broker").NodeIds.ToArray());
    }

    [Fact]
    public void NextNodeIds_ListedIdsTaken_FallsBackToTheLowestFreeIds()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "broker").Metadata.Annotations = new Dictionary<string, string> { ["strimzi.io/next-node-ids"] = "[1-0]" };
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("controller", [0, 1, 2]);
        Assert.Equal([3, 4, 5], KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing)).Pool("broker").NodeIds.ToArray());
    }

    [Theory]
    [InlineData("10-20", "is not a list of node ids")]
    [InlineData("[1, x]", "'x'")]
    [InlineData("[-1]", "'-1'")]
    [InlineData("[0-2000000]", "more than 100000")]
    public void NextNodeIds_Malformed_ErrorNamesTheAnnotation(string annotation, string message)
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "broker").Metadata.Annotations = new Dictionary<string, string> { ["strimzi.io/next-node-ids"] = annotation };
        Assert.False(KafkaClusterModel.TryFrom(kafka, pools, Repo.Options(), out _, out var errors));
        var error = Assert.Single(errors);
        Assert.Equal(("KafkaNodePool/broker", "metadata.annotations[strimzi.io/next-node-ids]"), (error.Resource, error.Field));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ScaleUp_TakesTheLowestFreeIds_EvenIfNotContiguous()
    {
        // kafka-persistent.yaml as written: broker 0-2, controller 3-5; a fourth broker is node 6, as in Strimzi.
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "broker").Spec!.Replicas = 4;
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [0, 1, 2]).Add("controller", [3, 4, 5]);
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing));
        Assert.Equal([0, 1, 2, 6], model.Pool("broker").NodeIds.ToArray());
        Assert.Equal("my-cluster-broker-6", (string?)model.BuildPodSet(model.Pool("broker")).Spec!.Pods![3]["metadata"]!["name"]);
    }

    [Fact]
    public void EveryService_SelectsPodsTheModelBuilds_PerNodeServicesExactlyOne()
    {
        var model = Repo.Model("kafka/kafka-external-listeners.yaml");
        var pods = model.Pools.SelectMany(p => p.NodeIds.Select(id => model.BuildPod(p, id))).ToList();
        var perNode = model.BuildPerNodeServices();
        Assert.NotEmpty(perNode);
        foreach (var service in perNode)
        {
            var selected = pods.Where(p => service.Spec.Selector.All(l => p.Metadata.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
            Assert.Equal(service.Spec.Selector[KafkaClusterModel.KubernetesPodNameLabel], Assert.Single(selected).Metadata.Name);
        }

        var bootstrap = model.BuildBootstrapService();
        Assert.Equal(model.Pools.Where(p => p.IsBroker).Sum(p => p.NodeIds.Length),
            pods.Count(p => bootstrap.Spec.Selector.All(l => p.Metadata.Labels.TryGetValue(l.Key, out var v) && v == l.Value)));
    }

    [Fact]
    public void ScaleUp_FillsGapsFirst()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "broker").Spec!.Replicas = 4;
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [0, 2, 3]).Add("controller", [4, 5, 6]);
        Assert.Equal([0, 1, 2, 3], KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing)).Pool("broker").NodeIds.ToArray());
    }

    [Fact]
    public void ScaleDown_RemovesTheIdsListedInRemoveNodeIds_ThenTheHighest()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var broker = pools.Single(p => p.Metadata.Name == "broker");
        broker.Metadata.Annotations = new Dictionary<string, string> { ["strimzi.io/remove-node-ids"] = "[7, 1]" };
        broker.Spec!.Replicas = 1;
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [0, 1, 2]).Add("controller", [3, 4, 5]);
        Assert.Equal([0], KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing)).Pool("broker").NodeIds.ToArray());
        broker.Spec.Replicas = 2;
        Assert.Equal([0, 2], KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing)).Pool("broker").NodeIds.ToArray());
    }

    [Fact]
    public void ScaledDownIds_AreNotGivenToAnotherPoolInTheSameReconcile()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "broker").Spec!.Replicas = 2;
        pools.Single(p => p.Metadata.Name == "controller").Spec!.Replicas = 4;
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [0, 1, 2]).Add("controller", [3, 4, 5]);
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options(nodeIds: existing));
        Assert.Equal([0, 1], model.Pool("broker").NodeIds.ToArray());
        Assert.Equal([3, 4, 5, 6], model.Pool("controller").NodeIds.ToArray());
    }

    [Fact]
    public void RemoveNodeIds_Malformed_ErrorNamesTheAnnotation()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        pools.Single(p => p.Metadata.Name == "broker").Metadata.Annotations = new Dictionary<string, string> { ["strimzi.io/remove-node-ids"] = "3" };
        Assert.False(KafkaClusterModel.TryFrom(kafka, pools, Repo.Options(), out _, out var errors));
        var error = Assert.Single(errors);
        Assert.Equal(("KafkaNodePool/broker", "metadata.annotations[strimzi.io/remove-node-ids]"), (error.Resource, error.Field));
    }

    [Fact]
    public void AnIdHeldByTwoPools_IsAnErrorOnTheStatus()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var existing = ImmutableDictionary<string, ImmutableArray<int>>.Empty.Add("broker", [0, 1, 2]).Add("controller", [2, 3, 4]);
        Assert.False(KafkaClusterModel.TryFrom(kafka, pools, Repo.Options(nodeIds: existing), out _, out var errors));
        var error = Assert.Single(errors);
        Assert.Equal(("KafkaNodePool/controller", "status.nodeIds"), (error.Resource, error.Field));
        Assert.Contains("node id 2 is also held by pool broker", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LegacyV1beta1Cluster_GetsImplicitDualRolePoolKafka_AndWarnings()
    {
        var kafka = (Kafka)Repo.ReadExample("seed/kafka-persistent.yaml").Single();
        var model = KafkaClusterModel.From(kafka, [], Repo.Options());
        var pool = Assert.Single(model.Pools);
        Assert.Equal(("kafka", true, true), (pool.Name, pool.IsBroker, pool.IsController));
        Assert.Equal([0, 1, 2], pool.NodeIds.ToArray());
        Assert.Equal(["my-cluster-kafka-0", "my-cluster-kafka-1", "my-cluster-kafka-2"], pool.NodeIds.Select(id => pool.PodName("my-cluster", id)));
        Assert.Contains(model.Warnings, w => w.Reason == "ZooKeeperIgnored" && w.Message.Contains("KRaft", StringComparison.Ordinal));
        // The implicit pool is not a KafkaNodePool, so Kafka.status lists none.
        Assert.Empty(model.BuildStatus().KafkaNodePools!);
        Assert.Equal("2.6.0", model.BuildStatus().KafkaVersion);
    }

    [Fact]
    public void PoolsAndLegacyReplicas_PoolsWin_WithDeprecationWarning()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        kafka.Spec!.Kafka!.Replicas = 7;
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options());
        Assert.Equal(6, model.Nodes.Count());
        Assert.Contains(model.Warnings, w => w.Reason == "DeprecatedFields");
    }

    [Fact]
    public void PoolLabels_AreInherited_ExceptExcludedOnes()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-persistent.yaml");
        var broker = pools.Single(p => p.Metadata.Name == "broker");
        broker.Metadata.Labels["team"] = "payments";
        broker.Metadata.Labels["app.kubernetes.io/name"] = "mine";
        var model = KafkaClusterModel.From(kafka, pools, Repo.Options());
        var labels = model.BuildPodSet(model.Pool("broker")).Metadata.Labels;
        Assert.Equal("payments", labels["team"]);
        Assert.Equal("kafka", labels["app.kubernetes.io/name"]);
        Assert.Equal("broker", labels[StrimziLabels.PoolName]);
    }

    [Fact]
    public void EveryObject_IsOwnedByTheKafka_InTheNamespace()
    {
        var model = Repo.Model("kafka/kafka-external-listeners.yaml");
        var all = model.BuildAll();

        // Claims are owned by the Kafka only with deleteClaim: true; the others outlive it (Strimzi's rule).
        var kept = all.OfType<k8s.Models.V1PersistentVolumeClaim>().Where(c => c.Metadata.Annotations[KafkaClusterModel.DeleteClaimAnnotation] == "false").ToList();
        Assert.All(kept, c => Assert.Null(c.Metadata.OwnerReferences));
        var objects = all.Except(kept).ToList();
        Assert.All(objects, o =>
        {
            Assert.Equal(Repo.Namespace, o.Metadata.NamespaceProperty);
            var owner = Assert.Single(o.Metadata.OwnerReferences);
            Assert.Equal(("Kafka", "my-cluster", Repo.KafkaUid, true, false), (owner.Kind, owner.Name, owner.Uid, owner.BlockOwnerDeletion, owner.Controller));
            Assert.Equal("my-cluster", o.Metadata.Labels[StrimziLabels.Cluster]);
        });
        Assert.Equal(all.Count, all.Select(o => o.Kind + "/" + o.Metadata.Name).Distinct().Count());
    }

    [Fact]
    public void EphemeralVolumes_AreEmptyDirsWithSizeLimit_AndNoClaims()
    {
        var model = Repo.Model("kafka/kafka-ephemeral.yaml");
        Assert.Empty(model.BuildClaims(model.Pool("controller"), 3));
        var data = model.BuildPod(model.Pool("controller"), 3).Spec.Volumes.Single(v => v.Name == "data-0");
        Assert.Equal("10Gi", data.EmptyDir.SizeLimit.ToString());
    }

    [Fact]
    public void Jbod_GivesOneClaimAndLogDirPerVolume_MetadataOnTheSharedOne()
    {
        var model = Repo.Model("kafka/kafka-jbod.yaml");
        var claims = model.BuildClaims(model.Pool("broker"), 1);
        Assert.Equal(["data-0-my-cluster-broker-1", "data-1-my-cluster-broker-1"], claims.Select(c => c.Metadata.Name));
        Assert.Equal("fast", claims[1].Spec.StorageClassName);
        Assert.Equal(claims.Select(c => c.Metadata.Name), model.BuildPod(model.Pool("broker"), 1).Spec.Volumes
            .Where(v => v.PersistentVolumeClaim is not null).Select(v => v.PersistentVolumeClaim.ClaimName));
        var properties = model.BuildServerProperties(model.Pool("broker"), 1);
        Assert.Contains("\nlog.dirs=/var/lib/kafka/data-0/kafka-log1,/var/lib/kafka/data-1/kafka-log1\n", properties, StringComparison.Ordinal);
        Assert.Contains("\nmetadata.log.dir=/var/lib/kafka/data-0/kafka-log1\n", properties, StringComparison.Ordinal);
    }

    [Fact]
    public void PodDisruptionBudget_AllowsOneNodeDown()
    {
        Assert.Equal("5", Repo.Model("kafka/kafka-persistent.yaml").BuildPodDisruptionBudget().Spec.MinAvailable.Value);
        Assert.Equal("0", Repo.Model("kafka/kafka-single-node.yaml").BuildPodDisruptionBudget().Spec.MinAvailable.Value);
    }

    [Fact]
    public void BootstrapService_HasStrimziPortNamesAndSelectsBrokers()
    {
        var svc = Repo.Model("kafka/kafka-persistent.yaml").BuildBootstrapService();
        Assert.Equal("my-cluster-kafka-bootstrap", svc.Metadata.Name);
        Assert.Equal(["tcp-replication", "tcp-clients", "tcp-clientstls"], svc.Spec.Ports.Select(p => p.Name));
        Assert.Equal("true", svc.Spec.Selector[StrimziLabels.BrokerRole]);
    }

    [Fact]
    public void ExternalAddresses_FromOptions_AreAdvertised()
    {
        var (kafka, pools) = Repo.KafkaExample("kafka/kafka-external-listeners.yaml");
        var options = Repo.Options() with
        {
            ExternalAddresses = ImmutableDictionary<(string, int), (string, int)>.Empty.Add(("lb", 1), ("203.0.113.7", 9095)),
        };
        var model = KafkaClusterModel.From(kafka, pools, options);
        Assert.Contains("LB-9095://203.0.113.7:9095", model.BuildServerProperties(model.Pool("dual-role"), 1), StringComparison.Ordinal);
        Assert.Contains(model.Warnings, w => w.Reason == "ExternalAddressPending" && w.Message.StartsWith("listener lb: nodes 0, 2 ", StringComparison.Ordinal));
    }

    [Fact]
    public void ScramListener_GetsSaslConfig_AndTlsAuthListener_ClientAuth()
    {
        var scram = Repo.Model("security/scram-sha-512-auth/kafka.yaml");
        var properties = scram.BuildServerProperties(scram.Pool("broker"), 0);
        Assert.Contains("TLS-9093:SASL_SSL", properties, StringComparison.Ordinal);
        Assert.Contains("\nlistener.name.tls-9093.sasl.enabled.mechanisms=SCRAM-SHA-512\n", properties, StringComparison.Ordinal);
        var tls = Repo.Model("security/tls-auth/kafka.yaml");
        Assert.Contains("\nlistener.name.tls-9093.ssl.client.auth=required\n", tls.BuildServerProperties(tls.Pool("broker"), 0), StringComparison.Ordinal);
    }

    [Fact]
    public void SeedUser_LegacySingularOperation_IsNormalised()
    {
        var user = new KafkaUser
        {
            Metadata = new() { Name = "u", Labels = new Dictionary<string, string> { [StrimziLabels.Cluster] = "c" } },
            Spec = new()
            {
                Authentication = new() { Type = "tls" },
                Authorization = new() { Type = "simple", Acls = [new() { Resource = new() { Type = "topic", Name = "t" }, Operation = "Read" }] },
            },
        };
        Assert.True(KafkaUserModel.TryFrom(user, "", out var model, out _));
        Assert.Equal("CN=u", model!.UserName);
        Assert.Equal(["Read"], Assert.Single(model.Acls).Operations);
    }
}
