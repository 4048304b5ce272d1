using k8s;
using k8s.Models;
using Operator.Api;

namespace Operator.Model;

// PodDisruptionBudget, NetworkPolicy and the Kafka pods' ServiceAccount and RBAC; and the full object list.
public sealed partial class KafkaClusterModel
{
    public string ServiceAccountName => Name + "-kafka";

    /// <summary>PDB <c>&lt;cluster&gt;-kafka</c>: all nodes but <c>template.podDisruptionBudget.maxUnavailable</c> (default 1).</summary>
    public V1PodDisruptionBudget BuildPodDisruptionBudget()
    {
        var maxUnavailable = Spec.Template?["podDisruptionBudget"]?["maxUnavailable"]?.GetValue<int>() ?? 1;
        return new V1PodDisruptionBudget
        {
            ApiVersion = "policy/v1",
            Kind = "PodDisruptionBudget",
            Metadata = Meta(Name + "-kafka", Labels.Cluster(Name, KafkaLabels)),
            Spec = new V1PodDisruptionBudgetSpec
            {
                MinAvailable = Math.Max(0, Nodes.Count() - maxUnavailable),
                Selector = new V1LabelSelector { MatchLabels = new SortedDictionary<string, string>(Labels.Selector(Name), StringComparer.Ordinal) },
            },
        };
    }

    /// <summary>
    /// NetworkPolicy <c>&lt;cluster&gt;-network-policy-kafka</c>: control plane from Kafka pods and the operator;
    /// replication from Kafka, the operator and the entity operator; user listeners from their
    /// networkPolicyPeers (open when none); metrics and health open.
    /// </summary>
    public V1NetworkPolicy BuildNetworkPolicy()
    {
        var kafkaPods = new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new SortedDictionary<string, string>(Labels.Selector(Name), StringComparer.Ordinal) } };
        var operatorPods = new V1NetworkPolicyPeer
        {
            PodSelector = new V1LabelSelector { MatchLabels = new SortedDictionary<string, string>(StringComparer.Ordinal) { [StrimziLabels.Kind] = "cluster-operator" } },
            NamespaceSelector = new V1LabelSelector(),
        };
        var entityOperator = new V1NetworkPolicyPeer
        {
            PodSelector = new V1LabelSelector { MatchLabels = new SortedDictionary<string, string>(StringComparer.Ordinal) { [StrimziLabels.Name] = Name + "-entity-operator" } },
        };
        static V1NetworkPolicyPort TcpPort(int port) => new() { Port = port, Protocol = "TCP" };
        var rules = new List<V1NetworkPolicyIngressRule>
        {
            new() { Ports = [TcpPort(BrokerContainer.ControlPlanePort)], FromProperty = [kafkaPods, operatorPods] },
            new() { Ports = [TcpPort(BrokerContainer.ReplicationPort)], FromProperty = [kafkaPods, operatorPods, entityOperator] },
        };
        foreach (var listener in Listeners)
        {
            var source = Spec.Listeners!.First(l => l.Name == listener.Name).NetworkPolicyPeers;
            rules.Add(new V1NetworkPolicyIngressRule
            {
                Ports = [TcpPort(listener.Port)],
                FromProperty = source is { Count: > 0 } ? [.. source.Select(p => k8s.KubernetesJson.Deserialize<V1NetworkPolicyPeer>(p.ToJsonString()))] : null,
            });
        }

        rules.Add(new V1NetworkPolicyIngressRule { Ports = [TcpPort(BrokerContainer.MetricsPort)] });
        rules.Add(new V1NetworkPolicyIngressRule { Ports = [TcpPort(BrokerContainer.HealthPort)] });
        return new V1NetworkPolicy
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = Meta(Name + "-network-policy-kafka", Labels.Cluster(Name, KafkaLabels)),
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = new SortedDictionary<string, string>(Labels.Selector(Name), StringComparer.Ordinal) },
                PolicyTypes = ["Ingress"],
                Ingress = rules,
            },
        };
    }

    public V1ServiceAccount BuildServiceAccount() => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = Meta(ServiceAccountName, Labels.Cluster(Name, KafkaLabels)),
    };

    /// <summary>
    /// Role <c>&lt;cluster&gt;-kafka</c>: read the cluster CA, trust bundle and each node's certificate Secret (Strimzi's
    /// shape; the per-node Secrets are not written yet, the pods read none while the broker has no TLS).
    /// </summary>
    public V1Role BuildRole() => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "Role",
        Metadata = Meta(Name + "-kafka", Labels.Cluster(Name, KafkaLabels)),
        Rules =
        [
            new V1PolicyRule
            {
                ApiGroups = [""],
                Resources = ["secrets"],
                Verbs = ["get"],
                ResourceNames =
                [
                    Name + "-cluster-ca-cert",
                    Name + "-trustbundle",
                    .. Nodes.Select(n => n.Pool.PodName(Name, n.NodeId)),
                ],
            },
        ],
    };

    public V1RoleBinding BuildRoleBinding() => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "RoleBinding",
        Metadata = Meta(Name + "-kafka-role", Labels.Cluster(Name, KafkaLabels)),
        RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = Name + "-kafka" },
        Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = ServiceAccountName, NamespaceProperty = Namespace }],
    };

    /// <summary>
    /// Every object of the cluster in a fixed order: ServiceAccount, Role, RoleBinding, Services, Ingresses,
    /// per-node ConfigMaps (by pool, then id), per-node claims (by pool, then id), StrimziPodSets (by pool),
    /// PodDisruptionBudget, NetworkPolicy.
    /// </summary>
    public IReadOnlyList<IKubernetesObject<V1ObjectMeta>> BuildAll()
    {
        var result = new List<IKubernetesObject<V1ObjectMeta>>
        {
            BuildServiceAccount(), BuildRole(), BuildRoleBinding(), BuildHeadlessService(), BuildBootstrapService(),
        };
        result.AddRange(BuildExternalBootstrapServices());
        result.AddRange(BuildPerNodeServices());
        result.AddRange(BuildIngresses());
        foreach (var pool in Pools)
        {
            result.AddRange(pool.NodeIds.Select(id => BuildNodeConfigMap(pool, id)));
        }

        foreach (var pool in Pools)
        {
            result.AddRange(pool.NodeIds.SelectMany(id => BuildClaims(pool, id)));
        }

        result.AddRange(Pools.Select(BuildPodSet));
        result.Add(BuildPodDisruptionBudget());
        result.Add(BuildNetworkPolicy());
        return result;
    }
}
