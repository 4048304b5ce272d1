using k8s;
using k8s.Models;

namespace Operator.Kube;

/// <summary>The namespace and name that identify an object (namespace empty for cluster-scoped kinds). Immutable.</summary>
public readonly record struct ObjectKey(string Namespace, string Name)
{
    public static ObjectKey Of(IKubernetesObject<V1ObjectMeta> obj) => new(obj.Metadata?.NamespaceProperty ?? "", obj.Metadata?.Name ?? "");

    public override string ToString() => Namespace.Length == 0 ? Name : Namespace + "/" + Name;
}
