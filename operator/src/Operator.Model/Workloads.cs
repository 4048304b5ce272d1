using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using Operator.Api;

namespace Operator.Model;

// Per-pool StatefulSets and per-node ConfigMaps.
public sealed partial class KafkaClusterModel
{
    public const string StorageAnnotation = "strimzi.io/storage";
    public const string KafkaVersionAnnotation = "strimzi.io/kafka-version";
    public const string DeleteClaimAnnotation = "strimzi.io/delete-claim";

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
    /// The StatefulSet <c>&lt;cluster&gt;-&lt;pool&gt;</c>: ordinals start at the pool's first node id so pods are
    /// named <c>&lt;cluster&gt;-&lt;pool&gt;-&lt;nodeId&gt;</c>; Parallel pod management; OnDelete updates so the operator
    /// decides when each node restarts.
    /// </summary>
    public V1StatefulSet BuildStatefulSet(NodePoolModel pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var labels = Labels.Pool(Name, KafkaLabels, pool);
        var podLabels = new SortedDictionary<string, string>(labels, StringComparer.Ordinal)
        {
            [StrimziLabels.Controller] = "statefulset",
            [StrimziLabels.ControllerName] = pool.WorkloadName(Name),
            [StrimziLabels.BrokerRole] = pool.IsBroker ? "true" : "false",
            [StrimziLabels.ControllerRole] = pool.IsController ? "true" : "false",
        };
        var persistent = pool.Volumes.Where(v => v.IsPersistent).ToList();
        var template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta
            {
                Labels = podLabels,
                Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal) { [KafkaVersionAnnotation] = KafkaVersion },
            },
            Spec = PodSpec(pool),
        };
        AddRevisionAnnotations(pool, template);
        return new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = Meta(pool.WorkloadName(Name), labels, new Dictionary<string, string>
            {
                [StorageAnnotation] = StorageJson(pool.Storage),
                [KafkaVersionAnnotation] = KafkaVersion,
            }),
            Spec = new V1StatefulSetSpec
            {
                Replicas = pool.NodeIds.Length,
                Ordinals = new V1StatefulSetOrdinals { Start = pool.NodeIds.IsEmpty ? 0 : pool.NodeIds[0] },
                ServiceName = HeadlessServiceName,
                PodManagementPolicy = "Parallel",
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "OnDelete" },
                Selector = new V1LabelSelector { MatchLabels = new SortedDictionary<string, string>(Labels.PoolSelector(Name, pool.Name), StringComparer.Ordinal) },
                PersistentVolumeClaimRetentionPolicy = new V1StatefulSetPersistentVolumeClaimRetentionPolicy
                {
                    WhenDeleted = persistent.Count > 0 && persistent.All(v => v.Storage.DeleteClaim == true) ? "Delete" : "Retain",
                    WhenScaled = "Retain",
                },
                VolumeClaimTemplates = persistent.Count == 0 ? null : [.. persistent.Select(v => ClaimTemplate(pool, v, labels))],
                Template = template,
            },
        };
    }

    private V1PersistentVolumeClaim ClaimTemplate(NodePoolModel pool, VolumeModel volume, IDictionary<string, string> labels) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = volume.Name,
            Labels = new SortedDictionary<string, string>(labels, StringComparer.Ordinal),
            Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                [DeleteClaimAnnotation] = volume.Storage.DeleteClaim == true ? "true" : "false",
            },
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
    };

    private V1PodSpec PodSpec(NodePoolModel pool)
    {
        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();
        foreach (var volume in pool.Volumes)
        {
            if (!volume.IsPersistent)
            {
                volumes.Add(new V1Volume
                {
                    Name = volume.Name,
                    EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = volume.Storage.SizeLimit is { } limit ? new ResourceQuantity(limit) : null },
                });
            }

            mounts.Add(new V1VolumeMount { Name = volume.Name, MountPath = volume.MountPath });
        }

        // Each node's ConfigMap (named like its pod) is projected under its pod name: a StatefulSet has one
        // pod template, and the container picks its own directory through $(POD_NAME).
        volumes.Add(new V1Volume
        {
            Name = "custom-config",
            Projected = new V1ProjectedVolumeSource
            {
                Sources = [.. pool.NodeIds.Select(id => new V1VolumeProjection
                {
                    ConfigMap = new V1ConfigMapProjection
                    {
                        Name = pool.PodName(Name, id),
                        Items = [.. new[] { BrokerContainer.ServerConfigKey, BrokerContainer.ClusterIdKey, BrokerContainer.MetadataVersionKey }
                            .Select(key => new V1KeyToPath { Key = key, Path = pool.PodName(Name, id) + "/" + key })],
                    },
                })],
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
