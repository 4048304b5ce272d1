using System.Diagnostics;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;
using Xunit.Abstractions;
using static EndToEnd.Tests.Kube.KubeWithRunner;

namespace EndToEnd.Tests.Kube;

/// <summary>
/// The pod runner ("kubelet") against the in-process API-server fixture: each test starts from an empty fixture and a
/// runner, creates objects through the API and looks at the Docker containers the runner made of them.
/// </summary>
public sealed class PodRunnerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Pod_EnvFromConfigMapSecretAndFieldRefs_AndConfigMapVolume_AreSeenByTheContainer()
    {
        await using var kube = await StartAsync(output);
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "settings" },
            Data = new Dictionary<string, string> { ["greeting"] = "hello", ["app.properties"] = "level=1\n" },
        }, Namespace);
        await kube.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "creds" },
            Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("s3cret") },
        }, Namespace);
        var script = "echo GREETING=$GREETING PASSWORD=$PASSWORD NAME=$POD_NAME NS=$POD_NAMESPACE IP=$POD_IP NODE=$NODE DERIVED=$DERIVED; "
            + "echo PWD=$(pwd) UID=$(id -u); cat conf/app.properties; stat -c MODE=%a conf/app.properties; " + SleepForever;
        await kube.CreatePodAsync(ShellPod("env", script, pod =>
        {
            var c = pod.Spec.Containers[0];
            c.Env =
            [
                new V1EnvVar { Name = "GREETING", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "settings", Key = "greeting" } } },
                new V1EnvVar { Name = "PASSWORD", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "creds", Key = "password" } } },
                new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                new V1EnvVar { Name = "POD_NAMESPACE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
                new V1EnvVar { Name = "POD_IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
                new V1EnvVar { Name = "NODE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "spec.nodeName" } } },
                new V1EnvVar { Name = "DERIVED", Value = "$(GREETING)-world" },
            ];
            c.WorkingDir = "/etc/app";
            c.SecurityContext = new V1SecurityContext { RunAsUser = 1234 };
            c.Resources = new V1ResourceRequirements
            {
                Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi"), ["cpu"] = new("500m") },
            };
            c.VolumeMounts = [new V1VolumeMount { Name = "config", MountPath = "/etc/app/conf" }];
            pod.Spec.Volumes =
            [
                new V1Volume
                {
                    Name = "config",
                    ConfigMap = new V1ConfigMapVolumeSource { Name = "settings", Items = [new V1KeyToPath { Key = "app.properties", Path = "app.properties", Mode = 0x124 }] },
                },
            ];
        }));

        var pod = await kube.WaitForPodAsync("env", p => p.Status?.Phase == "Running" && IsReady(p), "Running and Ready");
        Assert.NotNull(pod.Status.PodIP);
        Assert.NotNull(pod.Status.HostIP);
        Assert.NotNull(pod.Status.StartTime);
        var status = Assert.Single(pod.Status.ContainerStatuses);
        Assert.True(status.Ready);
        Assert.NotNull(status.State.Running);
        Assert.Equal(0, status.RestartCount);
        Assert.Equal(["PodScheduled", "Initialized", "ContainersReady", "Ready"], pod.Status.Conditions.Select(c => c.Type));

        string logs = "";
        await EventuallyAsync(async () => (logs = await kube.LogsAsync("env")).Contains("MODE=", StringComparison.Ordinal), "the container's first output");
        output.WriteLine(logs);
        Assert.Contains($"GREETING=hello PASSWORD=s3cret NAME=env NS={Namespace} IP={pod.Status.PodIP} NODE=podrunner-node DERIVED=hello-world", logs, StringComparison.Ordinal);
        Assert.Contains("PWD=/etc/app UID=1234", logs, StringComparison.Ordinal);
        Assert.Contains("level=1", logs, StringComparison.Ordinal);
        Assert.Contains("MODE=444", logs, StringComparison.Ordinal);

        var inspect = await ProcessRunner.RunAsync("docker", ["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", kube.ContainerId("env")], TimeSpan.FromSeconds(30));
        Assert.Equal($"{64 * 1024 * 1024} 500000000", inspect.StandardOutput.Trim());

        // A changed ConfigMap reaches the mounted file without a restart.
        await kube.Client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("{\"data\":{\"app.properties\":\"level=2\\n\"}}", V1Patch.PatchType.MergePatch), "settings", Namespace);
        await EventuallyAsync(async () => (await kube.ExecAsync("env", "cat /etc/app/conf/app.properties")).Output.Contains("level=2", StringComparison.Ordinal),
            "the ConfigMap change in the mounted file");
    }

    [Fact]
    public async Task ReadinessProbe_GatesReadyAndServiceDns_HeadlessPublishNotReadyResolvesAtOnce()
    {
        await using var kube = await StartAsync(output);
        await kube.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "web" }, Ports = [new V1ServicePort { Port = 8080 }] },
        }, Namespace);
        await kube.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web-nodes" },
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                PublishNotReadyAddresses = true,
                Selector = new Dictionary<string, string> { ["app"] = "web" },
                Ports = [new V1ServicePort { Port = 8080 }],
            },
        }, Namespace);
        await kube.CreatePodAsync(ShellPod("web-0", SleepForever, pod =>
        {
            pod.Metadata.Labels = new Dictionary<string, string> { ["app"] = "web" };
            pod.Spec.Hostname = "web-0";
            pod.Spec.Subdomain = "web-nodes";
            pod.Spec.Containers[0].ReadinessProbe = new V1Probe
            {
                Exec = new V1ExecAction { Command = ["test", "-f", "/tmp/ready"] },
                PeriodSeconds = 1,
                FailureThreshold = 1,
            };
        }));
        await kube.CreatePodAsync(ShellPod("client", SleepForever));

        var web = await kube.WaitForPodAsync("web-0", p => p.Status?.Phase == "Running", "Running");
        await kube.WaitForPodAsync("client", IsReady, "Ready");
        var ip = web.Status.PodIP;

        // Not ready: the headless Service publishes not-ready addresses, the normal one does not.
        await EventuallyAsync(async () => (await kube.ExecAsync("client", $"getent hosts web-0.web-nodes.{Namespace}.svc.cluster.local")).Output.Contains(ip, StringComparison.Ordinal),
            "the pod's hostname through the headless Service");
        Assert.NotEqual(0, (await kube.ExecAsync("client", $"getent hosts web.{Namespace}.svc.cluster.local")).ExitCode);
        Assert.False(IsReady(await kube.Client.CoreV1.ReadNamespacedPodAsync("web-0", Namespace)));

        await kube.ExecAsync("web-0", "touch /tmp/ready");
        await kube.WaitForPodAsync("web-0", IsReady, "Ready after the probe passes");
        foreach (var name in new[] { "web", $"web.{Namespace}", $"web.{Namespace}.svc", $"web.{Namespace}.svc.cluster.local", $"web-0.web-nodes.{Namespace}.svc", "web-0.web-nodes" })
        {
            await EventuallyAsync(async () => (await kube.ExecAsync("client", $"getent hosts {name}")).Output.Contains(ip, StringComparison.Ordinal), $"{name} to resolve to {ip}");
        }
        Assert.Equal(ip, (await kube.Client.CoreV1.ReadNamespacedPodAsync("web-0", Namespace)).Status.PodIP);

        // Not ready again: the Service name goes away, the pod keeps its IP.
        await kube.ExecAsync("web-0", "rm /tmp/ready");
        await kube.WaitForPodAsync("web-0", p => !IsReady(p), "not Ready after the probe fails");
        await EventuallyAsync(async () => (await kube.ExecAsync("client", $"getent hosts web.{Namespace}.svc.cluster.local")).ExitCode != 0, "the Service name to stop resolving");
    }
}
