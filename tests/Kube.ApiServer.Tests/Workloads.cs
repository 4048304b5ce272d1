using k8s.Models;

namespace Kube.ApiServer.Tests;

/// <summary>Typed workload builders shared by the tests. Stateless.</summary>
internal static class Workloads
{
    public static V1StatefulSet StatefulSet(string name, int replicas, string policy = "Parallel") => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1StatefulSetSpec
        {
            Replicas = replicas,
            ServiceName = name,
            PodManagementPolicy = policy,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "example/app:1" }] },
            },
        },
    };
}
