using System.Collections.Immutable;

namespace Kube.ApiServer.Discovery;

/// <summary>The built-in kinds this fixture serves. Immutable; thread-safe.</summary>
internal static class BuiltInResources
{
    public static readonly ImmutableArray<ResourceType> All =
    [
        Core("namespaces", "namespace", "Namespace", namespaced: false, ["ns"], hasStatus: true),
        Core("pods", "pod", "Pod", namespaced: true, ["po"], hasStatus: true, categories: ["all"]),
        Core("services", "service", "Service", namespaced: true, ["svc"], hasStatus: true, categories: ["all"]),
        Core("endpoints", "endpoints", "Endpoints", namespaced: true, ["ep"]),
        Core("configmaps", "configmap", "ConfigMap", namespaced: true, ["cm"]),
        Core("secrets", "secret", "Secret", namespaced: true, []),
        Core("serviceaccounts", "serviceaccount", "ServiceAccount", namespaced: true, ["sa"]),
        Core("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", namespaced: true, ["pvc"], hasStatus: true),
        Core("events", "event", "Event", namespaced: true, ["ev"]),
        new ResourceType
        {
            Group = "apps", Version = "v1", Plural = "statefulsets", Singular = "statefulset", Kind = "StatefulSet",
            Namespaced = true, ShortNames = ["sts"], Categories = ["all"], HasStatus = true, TracksGeneration = true,
            Scale = new ScalePaths(".spec.replicas", ".status.replicas", null),
        },
        new ResourceType
        {
            Group = "apps", Version = "v1", Plural = "deployments", Singular = "deployment", Kind = "Deployment",
            Namespaced = true, ShortNames = ["deploy"], Categories = ["all"], HasStatus = true, TracksGeneration = true,
            Scale = new ScalePaths(".spec.replicas", ".status.replicas", null),
        },
        Typed("policy", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, ["pdb"], hasStatus: true),
        Typed("networking.k8s.io", "networkpolicies", "networkpolicy", "NetworkPolicy", true, ["netpol"], hasStatus: false),
        Typed("networking.k8s.io", "ingresses", "ingress", "Ingress", true, ["ing"], hasStatus: true),
        Typed("rbac.authorization.k8s.io", "roles", "role", "Role", true, [], hasStatus: false, generation: false),
        Typed("rbac.authorization.k8s.io", "rolebindings", "rolebinding", "RoleBinding", true, [], hasStatus: false, generation: false),
        Typed("rbac.authorization.k8s.io", "clusterroles", "clusterrole", "ClusterRole", false, [], hasStatus: false, generation: false),
        Typed("rbac.authorization.k8s.io", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, [], hasStatus: false, generation: false),
        Typed("coordination.k8s.io", "leases", "lease", "Lease", true, [], hasStatus: false, generation: false),
        Typed("apiextensions.k8s.io", "customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition", false, ["crd", "crds"], hasStatus: true),
    ];

    private static ResourceType Core(
        string plural, string singular, string kind, bool namespaced, string[] shortNames,
        bool hasStatus = false, string[]? categories = null) => new()
        {
            Group = "", Version = "v1", Plural = plural, Singular = singular, Kind = kind, Namespaced = namespaced,
            ShortNames = shortNames, HasStatus = hasStatus, Categories = categories ?? [],
        };

    private static ResourceType Typed(
        string group, string plural, string singular, string kind, bool namespaced, string[] shortNames,
        bool hasStatus, bool generation = true) => new()
        {
            Group = group, Version = "v1", Plural = plural, Singular = singular, Kind = kind, Namespaced = namespaced,
            ShortNames = shortNames, HasStatus = hasStatus, TracksGeneration = generation,
        };
}
