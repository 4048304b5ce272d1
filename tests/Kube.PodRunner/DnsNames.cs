using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// The DNS names under which a pod is reachable, as cluster DNS would publish them, turned into Docker network
/// aliases: every Service of its namespace that selects it (<c>svc.ns</c>, <c>svc.ns.svc</c>,
/// <c>svc.ns.svc.&lt;domain&gt;</c>), and <c>hostname.subdomain.ns.svc[.&lt;domain&gt;]</c> when a headless Service
/// named after its subdomain selects it. Only while the pod is ready, unless the Service publishes not-ready
/// addresses. The bare <c>svc</c> and <c>hostname.subdomain</c> forms resolve through the pod's DNS search domains
/// (<see cref="SearchDomains"/>), so that they stay namespace-local as in Kubernetes. Pure. Thread-safe.
/// </summary>
public static class DnsNames
{
    /// <summary>The search list of a pod with dnsPolicy ClusterFirst.</summary>
    public static IReadOnlyList<string> SearchDomains(string ns, string clusterDomain) =>
        [$"{ns}.svc.{clusterDomain}", $"svc.{clusterDomain}", clusterDomain];

    public static SortedSet<string> Aliases(V1Pod pod, bool ready, IEnumerable<V1Service> services, string clusterDomain)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            if (service.Metadata.NamespaceProperty != ns || service.Spec?.Type == "ExternalName" || !Selects(service, pod))
            {
                continue;
            }
            if (!ready && service.Spec?.PublishNotReadyAddresses != true)
            {
                continue;
            }
            var name = service.Metadata.Name;
            result.Add($"{name}.{ns}");
            result.Add($"{name}.{ns}.svc");
            result.Add($"{name}.{ns}.svc.{clusterDomain}");
            if (pod.Spec.Subdomain == name && service.Spec?.ClusterIP == "None")
            {
                var host = pod.Spec.Hostname ?? pod.Metadata.Name;
                result.Add($"{host}.{name}.{ns}.svc");
                result.Add($"{host}.{name}.{ns}.svc.{clusterDomain}");
            }
        }
        return result;
    }

    /// <summary>A Service without a selector has manually managed Endpoints, which the runner does not emulate.</summary>
    public static bool Selects(V1Service service, V1Pod pod)
    {
        var selector = service.Spec?.Selector;
        if (selector is null || selector.Count == 0)
        {
            return false;
        }
        var labels = pod.Metadata.Labels;
        return labels is not null && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }
}
