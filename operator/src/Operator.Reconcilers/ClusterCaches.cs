using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Kube;

namespace Operator.Reconcilers;

/// <summary>
/// The informers the cluster operator reads from, for one namespace: Kafkas and KafkaNodePools, and the owned
/// StatefulSets, ConfigMaps, Services and Pods (those labelled <c>strimzi.io/kind=Kafka</c>). Kinds the model writes
/// but nothing watches (ServiceAccount, Role, RoleBinding, PDB, NetworkPolicy, Ingress) are read with the client.
/// Thread-safe.
/// </summary>
public sealed class ClusterCaches
{
    /// <summary>Selects the objects generated for Kafka clusters.</summary>
    public const string OwnedSelector = StrimziLabels.Kind + "=Kafka";

    public ClusterCaches(IKubernetes client, string ns, InformerOptions options, TimeProvider time, Random random, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(loggers);
        Client = client;
        Namespace = ns;
        KafkaResources = new CustomResources<Kafka>(client, ns, StrimziCrds.Kafka);
        NodePoolResources = new CustomResources<KafkaNodePool>(client, ns, StrimziCrds.KafkaNodePool);
        Kafkas = KafkaResources.Informer(options, time, random, loggers.CreateLogger("Informer.Kafka"));
        NodePools = NodePoolResources.Informer(options, time, random, loggers.CreateLogger("Informer.KafkaNodePool"));
        StatefulSets = new Informer<V1StatefulSet>(
            async ct =>
            {
                var list = await client.AppsV1.ListNamespacedStatefulSetAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct).ConfigureAwait(false);
                return (list.Items.ToList(), list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.AppsV1.WatchListNamespacedStatefulSetAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv,
                allowWatchBookmarks: true, onError: onError, cancellationToken: ct),
            options, time, random, loggers.CreateLogger("Informer.StatefulSet"));
        ConfigMaps = new Informer<V1ConfigMap>(
            async ct =>
            {
                var list = await client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct).ConfigureAwait(false);
                return (list.Items.ToList(), list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedConfigMapAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv,
                allowWatchBookmarks: true, onError: onError, cancellationToken: ct),
            options, time, random, loggers.CreateLogger("Informer.ConfigMap"));
        Services = new Informer<V1Service>(
            async ct =>
            {
                var list = await client.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct).ConfigureAwait(false);
                return (list.Items.ToList(), list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedServiceAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv,
                allowWatchBookmarks: true, onError: onError, cancellationToken: ct),
            options, time, random, loggers.CreateLogger("Informer.Service"));
        Pods = new Informer<V1Pod>(
            async ct =>
            {
                var list = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: OwnedSelector, cancellationToken: ct).ConfigureAwait(false);
                return (list.Items.ToList(), list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedPodAsync(ns, labelSelector: OwnedSelector, resourceVersion: rv,
                allowWatchBookmarks: true, onError: onError, cancellationToken: ct),
            options, time, random, loggers.CreateLogger("Informer.Pod"));
    }

    public IKubernetes Client { get; }

    public string Namespace { get; }

    public CustomResources<Kafka> KafkaResources { get; }

    public CustomResources<KafkaNodePool> NodePoolResources { get; }

    public Informer<Kafka> Kafkas { get; }

    public Informer<KafkaNodePool> NodePools { get; }

    public Informer<V1StatefulSet> StatefulSets { get; }

    public Informer<V1ConfigMap> ConfigMaps { get; }

    public Informer<V1Service> Services { get; }

    public Informer<V1Pod> Pods { get; }

    /// <summary>Feeds every informer's changes to the Kafka they belong to (pools and owned objects by their strimzi.io/cluster label).</summary>
    public void WireTo(Action<ObjectKey> enqueueKafka)
    {
        ArgumentNullException.ThrowIfNull(enqueueKafka);
        Kafkas.Changed += enqueueKafka;
        NodePools.Changed += key => ByClusterLabel(key, NodePools.TryGet(key, out var pool) ? pool.Metadata : null, enqueueKafka);
        StatefulSets.Changed += key => ByClusterLabel(key, StatefulSets.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
        ConfigMaps.Changed += key => ByClusterLabel(key, ConfigMaps.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
        Services.Changed += key => ByClusterLabel(key, Services.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
        Pods.Changed += key => ByClusterLabel(key, Pods.TryGet(key, out var o) ? o.Metadata : null, enqueueKafka);
    }

    /// <summary>Runs every informer until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(
        Kafkas.RunAsync(cancellationToken), NodePools.RunAsync(cancellationToken), StatefulSets.RunAsync(cancellationToken),
        ConfigMaps.RunAsync(cancellationToken), Services.RunAsync(cancellationToken), Pods.RunAsync(cancellationToken));

    /// <summary>Completes once every informer has listed.</summary>
    public Task Synced => Task.WhenAll(Kafkas.Synced, NodePools.Synced, StatefulSets.Synced, ConfigMaps.Synced, Services.Synced, Pods.Synced);

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
