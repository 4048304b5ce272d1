using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Kube;

namespace Operator.Reconcilers;

/// <summary>
/// The informers the cluster operator reads from, for one namespace or all of them (namespace null): Kafkas and KafkaNodePools, and every kind the
/// model writes plus Pods, limited to objects labelled <c>strimzi.io/kind=Kafka</c>, and every Secret. Thread-safe.
/// </summary>
public sealed class ClusterCaches
{
    /// <summary>Selects the objects generated for Kafka clusters.</summary>
    public const string OwnedSelector = StrimziLabels.Kind + "=Kafka";

    private readonly Dictionary<Type, object> _owned;

    public ClusterCaches(IKubernetes client, string? ns, InformerOptions options, TimeProvider time, Random random, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(loggers);
        Client = client;
        Namespace = ns;
        KafkaResources = new CustomResources<Kafka>(client, ns, StrimziCrds.Kafka);
        NodePoolResources = new CustomResources<KafkaNodePool>(client, ns, StrimziCrds.KafkaNodePool);
        Kafkas = KafkaResources.Informer(options, time, random, loggers.CreateLogger("Informer.Kafka"));
        NodePools = NodePoolResources.Informer(options, time, random, loggers.CreateLogger("Informer.KafkaNodePool"));
        InformerOptions o = options;
        PodSetResources = new CustomResources<StrimziPodSet>(client, ns, StrimziCrds.StrimziPodSet);
        StrimziPodSets = PodSetResources.Informer(options, time, random, loggers.CreateLogger("Informer.StrimziPodSet"));
        PersistentVolumeClaims = Owned<V1PersistentVolumeClaim, V1PersistentVolumeClaimList>(
            ct => ns is null
                ? client.CoreV1.ListPersistentVolumeClaimForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.CoreV1.WatchListPersistentVolumeClaimForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.CoreV1.WatchListNamespacedPersistentVolumeClaimAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        ConfigMaps = Owned<V1ConfigMap, V1ConfigMapList>(
            ct => ns is null
                ? client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.CoreV1.WatchListConfigMapForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.CoreV1.WatchListNamespacedConfigMapAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        Services = Owned<V1Service, V1ServiceList>(
            ct => ns is null
                ? client.CoreV1.ListServiceForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.CoreV1.WatchListServiceForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.CoreV1.WatchListNamespacedServiceAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        Pods = Owned<V1Pod, V1PodList>(
            ct => ns is null
                ? client.CoreV1.ListPodForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.CoreV1.WatchListPodForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.CoreV1.WatchListNamespacedPodAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        ServiceAccounts = Owned<V1ServiceAccount, V1ServiceAccountList>(
            ct => ns is null
                ? client.CoreV1.ListServiceAccountForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.CoreV1.ListNamespacedServiceAccountAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.CoreV1.WatchListServiceAccountForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.CoreV1.WatchListNamespacedServiceAccountAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        Roles = Owned<V1Role, V1RoleList>(
            ct => ns is null
                ? client.RbacAuthorizationV1.ListRoleForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.RbacAuthorizationV1.ListNamespacedRoleAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.RbacAuthorizationV1.WatchListRoleForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.RbacAuthorizationV1.WatchListNamespacedRoleAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        RoleBindings = Owned<V1RoleBinding, V1RoleBindingList>(
            ct => ns is null
                ? client.RbacAuthorizationV1.ListRoleBindingForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.RbacAuthorizationV1.ListNamespacedRoleBindingAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.RbacAuthorizationV1.WatchListRoleBindingForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.RbacAuthorizationV1.WatchListNamespacedRoleBindingAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        PodDisruptionBudgets = Owned<V1PodDisruptionBudget, V1PodDisruptionBudgetList>(
            ct => ns is null
                ? client.PolicyV1.ListPodDisruptionBudgetForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.PolicyV1.ListNamespacedPodDisruptionBudgetAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.PolicyV1.WatchListPodDisruptionBudgetForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.PolicyV1.WatchListNamespacedPodDisruptionBudgetAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        NetworkPolicies = Owned<V1NetworkPolicy, V1NetworkPolicyList>(
            ct => ns is null
                ? client.NetworkingV1.ListNetworkPolicyForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.NetworkingV1.ListNamespacedNetworkPolicyAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.NetworkingV1.WatchListNetworkPolicyForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.NetworkingV1.WatchListNamespacedNetworkPolicyAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        Ingresses = Owned<V1Ingress, V1IngressList>(
            ct => ns is null
                ? client.NetworkingV1.ListIngressForAllNamespacesAsync(labelSelector: OwnedSelector, cancellationToken: ct)
                : client.NetworkingV1.ListNamespacedIngressAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.NetworkingV1.WatchListIngressForAllNamespacesAsync(labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.NetworkingV1.WatchListNamespacedIngressAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        // Every Secret of the namespace, not only labelled ones: a custom CA (generateCertificateAuthority: false) is
        // the user's Secret, with whatever labels they gave it.
        Secrets = Owned<V1Secret, V1SecretList>(
            ct => ns is null
                ? client.CoreV1.ListSecretForAllNamespacesAsync(cancellationToken: ct)
                : client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: ct), l => l.Items, l => l.Metadata,
            (rv, e, ct) => ns is null
                ? client.CoreV1.WatchListSecretForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct)
                : client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: rv, allowWatchBookmarks: true, onError: e, cancellationToken: ct),
            o, time, random, loggers);
        _owned = new Dictionary<Type, object>
        {
            [typeof(V1Secret)] = Secrets,
            [typeof(StrimziPodSet)] = StrimziPodSets, [typeof(V1PersistentVolumeClaim)] = PersistentVolumeClaims, [typeof(V1ConfigMap)] = ConfigMaps, [typeof(V1Service)] = Services,
            [typeof(V1ServiceAccount)] = ServiceAccounts, [typeof(V1Role)] = Roles, [typeof(V1RoleBinding)] = RoleBindings,
            [typeof(V1PodDisruptionBudget)] = PodDisruptionBudgets, [typeof(V1NetworkPolicy)] = NetworkPolicies, [typeof(V1Ingress)] = Ingresses,
        };
    }

    public IKubernetes Client { get; }

    /// <summary>The namespace watched, or null for all namespaces (<c>STRIMZI_NAMESPACE=*</c>).</summary>
    public string? Namespace { get; }

    public CustomResources<Kafka> KafkaResources { get; }

    public CustomResources<KafkaNodePool> NodePoolResources { get; }

    public Informer<Kafka> Kafkas { get; }

    public Informer<KafkaNodePool> NodePools { get; }

    public CustomResources<StrimziPodSet> PodSetResources { get; }

    /// <summary>Every StrimziPodSet (the pod-set controller reads them all; the Kafka reconciler its own pools').</summary>
    public Informer<StrimziPodSet> StrimziPodSets { get; }

    /// <summary>The claims made for Kafka nodes (labelled strimzi.io/kind=Kafka).</summary>
    public Informer<V1PersistentVolumeClaim> PersistentVolumeClaims { get; }

    public Informer<V1ConfigMap> ConfigMaps { get; }

    public Informer<V1Service> Services { get; }

    public Informer<V1Pod> Pods { get; }

    public Informer<V1ServiceAccount> ServiceAccounts { get; }

    public Informer<V1Role> Roles { get; }

    public Informer<V1RoleBinding> RoleBindings { get; }

    public Informer<V1PodDisruptionBudget> PodDisruptionBudgets { get; }

    public Informer<V1NetworkPolicy> NetworkPolicies { get; }

    public Informer<V1Ingress> Ingresses { get; }

    /// <summary>Every Secret of the namespace (CA, node and operator certificates are read from here).</summary>
    public Informer<V1Secret> Secrets { get; }

    /// <summary>The informer of an owned kind the model writes (not Pods).</summary>
    public Informer<T> Owned<T>()
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        _owned.TryGetValue(typeof(T), out var informer) ? (Informer<T>)informer : throw new NotSupportedException($"No informer caches {typeof(T).Name}.");

    /// <summary>Feeds every informer's changes to the Kafka they belong to (pools and owned objects by their strimzi.io/cluster label).</summary>
    public void WireTo(Action<ObjectKey> enqueueKafka)
    {
        ArgumentNullException.ThrowIfNull(enqueueKafka);
        Kafkas.Changed += enqueueKafka;
        NodePools.Changed += key => ByClusterLabel(key, NodePools.TryGet(key, out var pool) ? pool.Metadata : null, enqueueKafka);
        StrimziPodSets.Changed += key => ByClusterLabel(key, StrimziPodSets.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
        Wire(PersistentVolumeClaims, enqueueKafka);
        ConfigMaps.Changed += key => ByClusterLabel(key, ConfigMaps.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
        Services.Changed += key => ByClusterLabel(key, Services.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
        Pods.Changed += key => ByClusterLabel(key, Pods.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
        Wire(ServiceAccounts, enqueueKafka);
        Wire(Roles, enqueueKafka);
        Wire(RoleBindings, enqueueKafka);
        Wire(PodDisruptionBudgets, enqueueKafka);
        Wire(NetworkPolicies, enqueueKafka);
        Wire(Ingresses, enqueueKafka);
        Wire(Secrets, enqueueKafka);
    }

    /// <summary>Runs every informer until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(
        Kafkas.RunAsync(cancellationToken), NodePools.RunAsync(cancellationToken), StrimziPodSets.RunAsync(cancellationToken),
        PersistentVolumeClaims.RunAsync(cancellationToken),
        ConfigMaps.RunAsync(cancellationToken), Services.RunAsync(cancellationToken), Pods.RunAsync(cancellationToken),
        ServiceAccounts.RunAsync(cancellationToken), Roles.RunAsync(cancellationToken), RoleBindings.RunAsync(cancellationToken),
        PodDisruptionBudgets.RunAsync(cancellationToken), NetworkPolicies.RunAsync(cancellationToken), Ingresses.RunAsync(cancellationToken),
        Secrets.RunAsync(cancellationToken));

    /// <summary>Completes once every informer has listed.</summary>
    public Task Synced => Task.WhenAll(Kafkas.Synced, NodePools.Synced, StrimziPodSets.Synced, PersistentVolumeClaims.Synced, ConfigMaps.Synced, Services.Synced, Pods.Synced,
        ServiceAccounts.Synced, Roles.Synced, RoleBindings.Synced, PodDisruptionBudgets.Synced, NetworkPolicies.Synced, Ingresses.Synced, Secrets.Synced);

    private static Informer<T> Owned<T, TList>(
        Func<CancellationToken, Task<TList>> list, Func<TList, IList<T>> items, Func<TList, V1ListMeta> metadata, WatchFunc<T> watch,
        InformerOptions options, TimeProvider time, Random random, ILoggerFactory loggers)
        where T : class, IKubernetesObject<V1ObjectMeta> => new(
        async ct =>
        {
            var result = await list(ct).ConfigureAwait(false);
            return (items(result).ToList(), metadata(result).ResourceVersion);
        },
        watch, options, time, random, loggers.CreateLogger("Informer." + typeof(T).Name));

    private void Wire<T>(Informer<T> informer, Action<ObjectKey> enqueueKafka)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        informer.Changed += key => ByClusterLabel(key, informer.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);

    private void ByClusterLabel(ObjectKey key, V1ObjectMeta? metadata, Action<ObjectKey> enqueueKafka)
    {
        if (metadata is null)
        {
            // Deleted: the cache no longer says whose it was, so every Kafka of the namespace looks again (cheap: the
            // queue collapses keys, and a converged reconcile writes nothing).
            foreach (var kafka in Kafkas.Items().Where(k => k.Metadata.NamespaceProperty == key.Namespace))
            {
                enqueueKafka(ObjectKey.Of(kafka));
            }
        }
        else if (metadata.Labels is { } labels && labels.TryGetValue(StrimziLabels.Cluster, out var cluster))
        {
            enqueueKafka(new ObjectKey(key.Namespace, cluster));
        }
    }
}
