using System.Globalization;
using System.Text.Json;
using k8s.Models;
using Operator.Api;

namespace Operator.Model;

// Services and Ingresses: the headless and bootstrap Services, and per-listener objects for external listeners.
public sealed partial class KafkaClusterModel
{
    public string HeadlessServiceName => Name + "-kafka-brokers";

    public string BootstrapServiceName => Name + "-kafka-bootstrap";

    private static V1ServicePort Port(string name, int port, int? nodePort = null) =>
        new() { Name = name, Port = port, TargetPort = port, Protocol = "TCP", NodePort = nodePort };

    /// <summary>Headless Service <c>&lt;cluster&gt;-kafka-brokers</c>: pod DNS names for every node, ready or not.</summary>
    public V1Service BuildHeadlessService() => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Meta(HeadlessServiceName, Labels.Cluster(Name, KafkaLabels)),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = "None",
            PublishNotReadyAddresses = true,
            Selector = new SortedDictionary<string, string>(Labels.Selector(Name), StringComparer.Ordinal),
            Ports =
            [
                Port("tcp-ctrlplane", BrokerContainer.ControlPlanePort),
                Port("tcp-replication", BrokerContainer.ReplicationPort),
                .. Listeners.Where(l => l.IsInternal).Select(l => Port(l.PortName, l.Port)),
            ],
        },
    };

    /// <summary>
    /// Bootstrap Service <c>&lt;cluster&gt;-kafka-bootstrap</c>: replication plus every internal listener, selecting
    /// broker nodes, with Strimzi's discovery label and annotation.
    /// </summary>
    public V1Service BuildBootstrapService()
    {
        var labels = new SortedDictionary<string, string>(Labels.Cluster(Name, KafkaLabels), StringComparer.Ordinal) { [StrimziLabels.Discovery] = "true" };
        var discovery = JsonSerializer.Serialize(Listeners.Where(l => l.IsInternal).Select(l => new DiscoveryEntry(l.Port, l.Tls, "kafka", l.Authentication ?? "none")), DiscoveryJson);
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Meta(BootstrapServiceName, labels, new Dictionary<string, string> { [StrimziLabels.Discovery] = discovery }),
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = new SortedDictionary<string, string>(Labels.BrokerSelector(Name), StringComparer.Ordinal),
                Ports =
                [
                    Port("tcp-replication", BrokerContainer.ReplicationPort),
                    .. Listeners.Where(l => l.IsInternal).Select(l => Port(l.PortName, l.Port)),
                ],
            },
        };
    }

    private sealed record DiscoveryEntry(int port, bool tls, string protocol, string auth);

    private static readonly JsonSerializerOptions DiscoveryJson = new();

    /// <summary>Bootstrap Services <c>&lt;cluster&gt;-kafka-&lt;listener&gt;-bootstrap</c> of the external listeners, in spec order.</summary>
    public IReadOnlyList<V1Service> BuildExternalBootstrapServices() =>
        [.. Listeners.Where(l => l.IsExternal && l.Configuration?.CreateBootstrapService != false).Select(l =>
        {
            var bootstrap = l.Configuration?.Bootstrap;
            var labels = Merge(Labels.Cluster(Name, KafkaLabels), bootstrap?.Labels);
            return new V1Service
            {
                ApiVersion = "v1",
                Kind = "Service",
                Metadata = Meta(l.ExternalBootstrapServiceName(Name), labels, bootstrap?.Annotations),
                Spec = ExternalSpec(l, Labels.BrokerSelector(Name), bootstrap?.NodePort, bootstrap?.LoadBalancerIP),
            };
        })];

    /// <summary>Per-node Services of the external listeners, by listener (spec order) then node id.</summary>
    public IReadOnlyList<V1Service> BuildPerNodeServices() =>
        [.. Listeners.Where(l => l.IsExternal).SelectMany(l => Nodes.Where(n => n.Pool.IsBroker).Select(n =>
        {
            var over = l.BrokerOverride(n.NodeId);
            var podName = n.Pool.PodName(Name, n.NodeId);
            var selector = new SortedDictionary<string, string>(Labels.PoolSelector(Name, n.Pool.Name), StringComparer.Ordinal)
            {
                [KubernetesPodNameLabel] = podName,
            };
            return new V1Service
            {
                ApiVersion = "v1",
                Kind = "Service",
                Metadata = Meta(l.PerNodeServiceName(Name, n.Pool.Name, n.NodeId), Merge(Labels.Pool(Name, KafkaLabels, n.Pool), over?.Labels), over?.Annotations),
                Spec = ExternalSpec(l, selector, over?.NodePort, over?.LoadBalancerIP),
            };
        }))];

    private static V1ServiceSpec ExternalSpec(ListenerModel l, IDictionary<string, string> selector, int? nodePort, string? loadBalancerIp) => new()
    {
        Type = l.ServiceType,
        Selector = new SortedDictionary<string, string>(selector, StringComparer.Ordinal),
        Ports = [Port(l.PortName, l.Port, l.Type == ListenerModel.NodePort ? nodePort : null)],
        ExternalTrafficPolicy = l.Type is ListenerModel.NodePort or ListenerModel.LoadBalancer ? l.Configuration?.ExternalTrafficPolicy ?? "Cluster" : null,
        LoadBalancerIP = l.Type == ListenerModel.LoadBalancer ? loadBalancerIp : null,
        LoadBalancerSourceRanges = l.Type == ListenerModel.LoadBalancer ? l.Configuration?.LoadBalancerSourceRanges : null,
        LoadBalancerClass = l.Type == ListenerModel.LoadBalancer ? l.Configuration?.Class : null,
        PublishNotReadyAddresses = l.Configuration?.PublishNotReadyAddresses,
    };

    internal string IngressHost(ListenerModel listener, NodePoolModel pool, int nodeId) =>
        listener.BrokerOverride(nodeId)?.Host
        ?? (listener.Configuration?.HostTemplate ?? string.Empty)
            .Replace("{nodeId}", nodeId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{nodePodName}", pool.PodName(Name, nodeId), StringComparison.Ordinal);

    /// <summary>
    /// Ingresses of ingress listeners: a bootstrap one and one per broker node, TLS passed through to the
    /// broker (ingress-nginx annotations, as Strimzi sets them).
    /// </summary>
    public IReadOnlyList<V1Ingress> BuildIngresses() =>
        [.. Listeners.Where(l => l.Type == ListenerModel.Ingress).SelectMany(l =>
        {
            var bootstrap = Ingress(l, l.ExternalBootstrapServiceName(Name), l.Configuration!.Bootstrap!.Host!, l.ExternalBootstrapServiceName(Name),
                Merge(Labels.Cluster(Name, KafkaLabels), l.Configuration.Bootstrap.Labels), l.Configuration.Bootstrap.Annotations);
            var perNode = Nodes.Where(n => n.Pool.IsBroker).Select(n =>
            {
                var over = l.BrokerOverride(n.NodeId);
                var service = l.PerNodeServiceName(Name, n.Pool.Name, n.NodeId);
                return Ingress(l, service, IngressHost(l, n.Pool, n.NodeId), service, Merge(Labels.Pool(Name, KafkaLabels, n.Pool), over?.Labels), over?.Annotations);
            });
            return new[] { bootstrap }.Concat(perNode);
        })];

    private V1Ingress Ingress(ListenerModel l, string name, string host, string service, IDictionary<string, string> labels, IDictionary<string, string>? annotations)
    {
        var allAnnotations = new SortedDictionary<string, string>(annotations ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["nginx.ingress.kubernetes.io/backend-protocol"] = "HTTPS",
            ["nginx.ingress.kubernetes.io/ssl-passthrough"] = "true",
        };
        return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "Ingress",
            Metadata = Meta(name, labels, allAnnotations),
            Spec = new V1IngressSpec
            {
                IngressClassName = l.Configuration?.Class,
                Tls = [new V1IngressTLS { Hosts = [host] }],
                Rules =
                [
                    new V1IngressRule
                    {
                        Host = host,
                        Http = new V1HTTPIngressRuleValue
                        {
                            Paths =
                            [
                                new V1HTTPIngressPath
                                {
                                    Path = "/",
                                    PathType = "Prefix",
                                    Backend = new V1IngressBackend { Service = new V1IngressServiceBackend { Name = service, Port = new V1ServiceBackendPort { Number = l.Port } } },
                                },
                            ],
                        },
                    },
                ],
            },
        };
    }

    private static SortedDictionary<string, string> Merge(IDictionary<string, string> labels, IDictionary<string, string>? extra)
    {
        var result = new SortedDictionary<string, string>(extra ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in labels)
        {
            result[key] = value;
        }

        return result;
    }
}
