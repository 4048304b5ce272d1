using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Operator.Api;

namespace Operator.Model;

// Per-pool StrimziPodSets, per-node pods, claims and ConfigMaps.
public sealed partial class KafkaClusterModel
{
    public const string StorageAnnotation = "strimzi.io/storage";
    public const string KafkaVersionAnnotation = "strimzi.io/kafka-version";
    public const string DeleteClaimAnnotation = "strimzi.io/delete-claim";
    public const string KubernetesPodNameLabel = "statefulset.kubernetes.io/pod-name";

    public NodePoolModel Pool(string name) =>
        Pools.FirstOrDefault(p => p.Name == name) ?? throw new ArgumentException($"Cluster {Name} has no node pool {name}.", nameof(name));

    private V1ObjectMeta Meta(string name, IDictionary<string, string> labels, IDictionary<string, string>? annotations = null) => new()
    {
        Name = name,
        NamespaceProperty = Namespace,
        Labels = new SortedDictionary<string, string>(labels, StringComparer.Ordinal),
        Annotations = annotations is null ? null : new SortedDictionary<string, string>(annotations, StringComparer.Ordinal),
        OwnerReferences = [OwnerReference],
    };

    /// <summary>
    /// The StrimziPodSet <c>&lt;cluster&gt;-&lt;pool&gt;</c>: one whole Pod definition per node of the pool
    /// (<see cref="BuildPod"/>), which the operator's pod-set controller creates and never updates in place, so the
    /// reconciler decides when each node restarts. Node ids need not be contiguous.
    /// </summary>
    public StrimziPodSet BuildPodSet(NodePoolModel pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var annotations = new Dictionary<string, string>
        {
            [StorageAnnotation] = StorageJson(pool.Storage),
            [KafkaVersionAnnotation] = KafkaVersion,
        };
        if (Options.CaGenerations is { } generations)
        {
            annotations[ClusterCaKeyGenerationAnnotation] = Int(generations.ClusterCaKey);
        }

        return new StrimziPodSet
        {
            Metadata = Meta(pool.WorkloadName(Name), Labels.Pool(Name, KafkaLabels, pool), annotations),
            Spec = new StrimziPodSetSpec
            {
                Selector = new PodSetSelector { MatchLabels = new Dictionary<string, string>(Labels.PoolSelector(Name, pool.Name), StringComparer.Ordinal) },
                Pods = [.. pool.NodeIds.Select(id => JsonNode.Parse(KubernetesJson.Serialize(BuildPod(pool, id)))!.AsObject())],
            },
        };
    }

    /// <summary>
    /// The pod of one node, <c>&lt;cluster&gt;-&lt;pool&gt;-&lt;id&gt;</c>: hostname and subdomain so that
    /// <c>&lt;pod&gt;.&lt;cluster&gt;-kafka-brokers.&lt;ns&gt;.svc</c> resolves, its own claims and ConfigMap, and the
    /// rolling-update annotations (CA generations, configuration hash, and last the revision of everything else).
    /// </summary>
    public V1Pod BuildPod(NodePoolModel pool, int nodeId)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var name = pool.PodName(Name, nodeId);
        var labels = new SortedDictionary<string, string>(Labels.Pool(Name, KafkaLabels, pool), StringComparer.Ordinal)
        {
            [StrimziLabels.PodName] = name,
            // What a StatefulSet would have set: the per-node Services select it, as Strimzi's do.
            [KubernetesPodNameLabel] = name,
            [StrimziLabels.Controller] = "strimzipodset",
            [StrimziLabels.ControllerName] = pool.WorkloadName(Name),
            [StrimziLabels.BrokerRole] = pool.IsBroker ? "true" : "false",
            [StrimziLabels.ControllerRole] = pool.IsController ? "true" : "false",
        };
        var spec = PodSpec(pool, nodeId);
        spec.Hostname = name;
        spec.Subdomain = HeadlessServiceName;
        var pod = new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = Namespace,
                Labels = labels,
                Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal) { [KafkaVersionAnnotation] = KafkaVersion },
            },
            Spec = spec,
        };
        AddRevisionAnnotations(pool, nodeId, pod);
        return pod;
    }

    /// <summary>
    /// The claims of one node, one per persistent volume: <c>&lt;volume&gt;-&lt;pod&gt;</c> (<c>data-0-my-cluster-broker-0</c>
    /// with JBOD, <c>data-my-cluster-broker-0</c> without). A claim whose volume has <c>deleteClaim: true</c> is owned by
    /// the Kafka, so it goes with the Kafka; the others outlive it.
    /// </summary>
    public IReadOnlyList<V1PersistentVolumeClaim> BuildClaims(NodePoolModel pool, int nodeId)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var labels = Labels.Pool(Name, KafkaLabels, pool);
        return [.. pool.Volumes.Where(v => v.IsPersistent).Select(volume => new V1PersistentVolumeClaim
        {
            ApiVersion = "v1",
            Kind = "PersistentVolumeClaim",
            Metadata = new V1ObjectMeta
            {
                Name = ClaimName(pool, volume, nodeId),
                NamespaceProperty = Namespace,
                Labels = new SortedDictionary<string, string>(labels, StringComparer.Ordinal),
                Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    [DeleteClaimAnnotation] = volume.Storage.DeleteClaim == true ? "true" : "false",
                },
                OwnerReferences = volume.Storage.DeleteClaim == true ? [OwnerReference] : null,
            },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements
                {
                    Requests = new SortedDictionary<string, ResourceQuantity>(StringComparer.Ordinal) { ["storage"] = new ResourceQuantity(volume.Storage.Size) },
                },
                StorageClassName = volume.Storage.Class,
                VolumeAttributesClassName = volume.Storage.VolumeAttributesClass,
                Selector = volume.Storage.Selector is { Count: > 0 } selector
                    ? new V1LabelSelector { MatchLabels = new SortedDictionary<string, string>(selector, StringComparer.Ordinal) }
                    : null,
            },
        })];
    }

    /// <summary>The claim of one node's volume: <c>&lt;volume name&gt;-&lt;pod name&gt;</c>, as Strimzi names it.</summary>
    public string ClaimName(NodePoolModel pool, VolumeModel volume, int nodeId)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(volume);
        return volume.Name + "-" + pool.PodName(Name, nodeId);
    }

    private V1PodSpec PodSpec(NodePoolModel pool, int nodeId)
    {
        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();
        foreach (var volume in pool.Volumes)
        {
            volumes.Add(volume.IsPersistent
                ? new V1Volume
                {
                    Name = volume.Name,
                    PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = ClaimName(pool, volume, nodeId) },
                }
                : new V1Volume
                {
                    Name = volume.Name,
                    EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = volume.Storage.SizeLimit is { } limit ? new ResourceQuantity(limit) : null },
                });
            mounts.Add(new V1VolumeMount { Name = volume.Name, MountPath = volume.MountPath });
        }

        // The node's ConfigMap (named like its pod), projected under its pod name: the image's entrypoint reads its
        // files from <config dir>/$(POD_NAME)/.
        volumes.Add(new V1Volume
        {
            Name = "custom-config",
            Projected = new V1ProjectedVolumeSource
            {
                Sources =
                [
                    new V1VolumeProjection
                    {
                        ConfigMap = new V1ConfigMapProjection
                        {
                            Name = pool.PodName(Name, nodeId),
                            Items = [.. new[] { BrokerContainer.ServerConfigKey, BrokerContainer.ClusterIdKey, BrokerContainer.MetadataVersionKey }
                                .Select(key => new V1KeyToPath { Key = key, Path = pool.PodName(Name, nodeId) + "/" + key })],
                        },
                    },
                ],
            },
        });
        mounts.Add(new V1VolumeMount { Name = "custom-config", MountPath = BrokerContainer.ConfigDirectory, ReadOnlyProperty = true });
        volumes.Add(new V1Volume { Name = "strimzi-tmp", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity("5Mi") } });
        mounts.Add(new V1VolumeMount { Name = "strimzi-tmp", MountPath = "/tmp" });

        var ports = new List<V1ContainerPort>();
        if (pool.IsController)
        {
            ports.Add(new V1ContainerPort { Name = "tcp-ctrlplane", ContainerPort = BrokerContainer.ControlPlanePort, Protocol = "TCP" });
        }

        if (pool.IsBroker)
        {
            ports.Add(new V1ContainerPort { Name = "tcp-replication", ContainerPort = BrokerContainer.ReplicationPort, Protocol = "TCP" });
            ports.AddRange(Listeners.Select(l => new V1ContainerPort { Name = l.PortName, ContainerPort = l.Port, Protocol = "TCP" }));
        }

        ports.Add(new V1ContainerPort { Name = "tcp-health", ContainerPort = BrokerContainer.HealthPort, Protocol = "TCP" });
        ports.Add(new V1ContainerPort { Name = "tcp-prometheus", ContainerPort = BrokerContainer.MetricsPort, Protocol = "TCP" });

        return new V1PodSpec
        {
            ServiceAccountName = ServiceAccountName,
            TerminationGracePeriodSeconds = 30,
            SecurityContext = new V1PodSecurityContext { FsGroup = BrokerContainer.ImageUser },
            Volumes = volumes,
            Containers =
            [
                new V1Container
                {
                    Name = BrokerContainer.Name,
                    Image = Image,
                    Command = BrokerContainer.Command,
                    Env =
                    [
                        new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                    ],
                    Ports = ports,
                    VolumeMounts = mounts,
                    Resources = ResourceRequirements(pool.Resources),
                    // Controller-only nodes are ready when their control-plane port listens, as in Strimzi.
                    ReadinessProbe = Probe(Spec.ReadinessProbe, pool.IsBroker
                        ? new V1HTTPGetAction { Path = BrokerContainer.ReadinessPath, Port = BrokerContainer.HealthPort }
                        : null, pool.IsBroker ? null : new V1TCPSocketAction { Port = BrokerContainer.ControlPlanePort }),
                    LivenessProbe = Probe(Spec.LivenessProbe, new V1HTTPGetAction { Path = BrokerContainer.BrokerStatePath, Port = BrokerContainer.HealthPort }, null),
                },
            ],
        };
    }

    private static V1Probe Probe(Api.Probe? spec, V1HTTPGetAction? http, V1TCPSocketAction? tcp) => new()
    {
        HttpGet = http,
        TcpSocket = tcp,
        InitialDelaySeconds = spec?.InitialDelaySeconds ?? 15,
        TimeoutSeconds = spec?.TimeoutSeconds ?? 5,
        PeriodSeconds = spec?.PeriodSeconds,
        SuccessThreshold = spec?.SuccessThreshold,
        FailureThreshold = spec?.FailureThreshold,
    };

    private static V1ResourceRequirements? ResourceRequirements(JsonObject? resources)
    {
        if (resources is null)
        {
            return null;
        }

        static SortedDictionary<string, ResourceQuantity>? Quantities(JsonNode? node) =>
            node is JsonObject obj
                ? new SortedDictionary<string, ResourceQuantity>(obj.ToDictionary(p => p.Key, p => new ResourceQuantity(Format(p.Value))), StringComparer.Ordinal)
                : null;

        return new V1ResourceRequirements { Requests = Quantities(resources["requests"]), Limits = Quantities(resources["limits"]) };
    }

    /// <summary>The node's ConfigMap <c>&lt;cluster&gt;-&lt;pool&gt;-&lt;id&gt;</c>: server.config, cluster.id, metadata.version.</summary>
    public V1ConfigMap BuildNodeConfigMap(NodePoolModel pool, int nodeId)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var labels = new SortedDictionary<string, string>(Labels.Pool(Name, KafkaLabels, pool), StringComparer.Ordinal)
        {
            [StrimziLabels.PodName] = pool.PodName(Name, nodeId),
        };
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta(pool.PodName(Name, nodeId), labels),
            Data = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                [BrokerContainer.ClusterIdKey] = ClusterId,
                [BrokerContainer.MetadataVersionKey] = MetadataVersion,
                [BrokerContainer.ServerConfigKey] = BuildServerProperties(pool, nodeId),
            },
        };
    }

    /// <summary>What the reconciler writes to the pool's status (conditions and observedGeneration are its own).</summary>
    public KafkaNodePoolStatus BuildNodePoolStatus(NodePoolModel pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return new KafkaNodePoolStatus
        {
            NodeIds = [.. pool.NodeIds],
            ClusterId = ClusterId,
            Roles = [.. pool.Roles],
            Replicas = pool.NodeIds.Length,
            LabelSelector = Labels.SelectorString(Labels.PoolSelector(Name, pool.Name)),
        };
    }

    /// <summary>The model's part of Kafka.status: cluster id, versions, pools and listener addresses.</summary>
    public KafkaStatus BuildStatus() => new()
    {
        ClusterId = ClusterId,
        KafkaVersion = KafkaVersion,
        KafkaMetadataVersion = MetadataVersion,
        KafkaNodePools = [.. Pools.Where(p => p.Source is not null).Select(p => new UsedNodePoolStatus { Name = p.Name })],
        Listeners = [.. Listeners.Where(l => l.Type is ListenerModel.Internal or ListenerModel.ClusterIp).Select(l =>
        {
            var host = (l.IsInternal ? BootstrapServiceName : l.ExternalBootstrapServiceName(Name)) + "." + Namespace + ".svc";
            return new ListenerStatus
            {
                Name = l.Name,
                Addresses = [new ListenerAddress { Host = host, Port = l.Port }],
                BootstrapServers = string.Create(CultureInfo.InvariantCulture, $"{host}:{l.Port}"),
            };
        })],
    };
}
