using System.Diagnostics;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Infrastructure;
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

        // A deleted Service takes its names with it.
        await kube.Client.CoreV1.DeleteNamespacedServiceAsync("web-nodes", Namespace);
        await EventuallyAsync(async () => (await kube.ExecAsync("client", $"getent hosts web-0.web-nodes.{Namespace}.svc.cluster.local")).ExitCode != 0,
            "the headless Service's pod name to stop resolving");

        // Not ready again: the Service name goes away, the pod keeps its IP.
        await kube.ExecAsync("web-0", "rm /tmp/ready");
        await kube.WaitForPodAsync("web-0", p => !IsReady(p), "not Ready after the probe fails");
        await EventuallyAsync(async () => (await kube.ExecAsync("client", $"getent hosts web.{Namespace}.svc.cluster.local")).ExitCode != 0, "the Service name to stop resolving");
    }

    [Fact]
    public async Task DroppedAndExpiredWatches_AreReopened_NewPodsStillRun()
    {
        // No periodic re-list: only watch events wake the runner, so this passes only if it re-watches.
        await using var kube = await StartAsync(output, o => o.ResyncInterval = TimeSpan.FromMinutes(10));
        await kube.CreatePodAsync(ShellPod("before", SleepForever));
        await kube.WaitForPodAsync("before", IsReady, "Ready");

        kube.Server.CompactHistory();
        kube.Server.DisconnectWatches();
        await kube.CreatePodAsync(ShellPod("after", SleepForever));
        await kube.WaitForPodAsync("after", IsReady, "Ready after the watches were cut");
    }

    [Fact]
    public async Task RestartedApiServer_IsRelisted_PodsItNoLongerHasStopAndNewOnesRun()
    {
        await using var kube = await StartAsync(output);
        await kube.CreatePodAsync(ShellPod("old", SleepForever));
        await kube.WaitForPodAsync("old", IsReady, "Ready");
        var oldContainer = kube.ContainerId("old");

        await kube.RestartServerAsync();
        await EventuallyAsync(async () => (await ProcessRunner.RunAsync("docker", ["inspect", oldContainer], TimeSpan.FromSeconds(30))).ExitCode != 0,
            "the container of a pod the new server does not have to be removed");
        await kube.CreatePodAsync(ShellPod("new", SleepForever));
        await kube.WaitForPodAsync("new", IsReady, "Ready on the restarted server");
    }

    [Fact]
    public async Task PersistentVolumeClaim_SurvivesPodDeletionAndRecreation_VolumeGoesWithTheClaim()
    {
        await using var kube = await StartAsync(output);
        await kube.Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "data" },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, Namespace);
        V1Pod Writer(string script) => ShellPod("writer", script, pod =>
        {
            pod.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data" }];
            pod.Spec.Volumes = [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "data" } }];
            // A non-root user writes to the (root-owned) volume because fsGroup makes it group-writable.
            pod.Spec.SecurityContext = new V1PodSecurityContext { RunAsUser = 1234, FsGroup = 2000 };
        });

        await kube.CreatePodAsync(Writer("echo first > /data/file; " + SleepForever));
        await kube.WaitForPodAsync("writer", IsReady, "Ready");
        await EventuallyAsync(async () => (await kube.ExecAsync("writer", "cat /data/file")).Output.Contains("first", StringComparison.Ordinal), "the file written");
        await kube.Client.CoreV1.DeleteNamespacedPodAsync("writer", Namespace);
        await kube.WaitForPodGoneAsync("writer");

        await kube.CreatePodAsync(Writer(SleepForever));
        await kube.WaitForPodAsync("writer", IsReady, "Ready again");
        Assert.Contains("first", (await kube.ExecAsync("writer", "cat /data/file")).Output, StringComparison.Ordinal);

        var volume = kube.Runner.ClaimVolumeName(Namespace, "data");
        Assert.Equal(0, (await ProcessRunner.RunAsync("docker", ["volume", "inspect", volume], TimeSpan.FromSeconds(30))).ExitCode);
        await kube.Client.CoreV1.DeleteNamespacedPodAsync("writer", Namespace);
        await kube.Client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync("data", Namespace);
        await EventuallyAsync(async () => (await ProcessRunner.RunAsync("docker", ["volume", "inspect", volume], TimeSpan.FromSeconds(30))).ExitCode != 0,
            "the Docker volume to be removed with its claim");
    }

    [Fact]
    public async Task Delete_StopsWithSigtermThenSigkillAfterTheGracePeriod()
    {
        await using var kube = await StartAsync(output);
        // Handles SIGTERM by exiting 1.5 s later: well inside its 20 s grace period.
        await kube.CreatePodAsync(ShellPod("graceful", "trap 'sleep 1.5; exit 0' TERM; while :; do sleep 1 & wait $!; done", p => p.Spec.TerminationGracePeriodSeconds = 20));
        // Ignores SIGTERM: killed when its 2 s grace period ends.
        await kube.CreatePodAsync(ShellPod("stubborn", "trap '' TERM; while :; do sleep 1 & wait $!; done", p => p.Spec.TerminationGracePeriodSeconds = 2));
        await kube.WaitForPodAsync("graceful", IsReady, "Ready");
        await kube.WaitForPodAsync("stubborn", IsReady, "Ready");

        async Task<TimeSpan> DeleteAndTimeAsync(string name)
        {
            var id = kube.ContainerId(name);
            var watch = Stopwatch.StartNew();
            var deleting = await kube.Client.CoreV1.DeleteNamespacedPodAsync(name, Namespace);
            // Bound to the runner's node, the pod is deleted gracefully: it stays, marked, until the runner has stopped it.
            Assert.NotNull(deleting.Metadata.DeletionTimestamp);
            Assert.Equal(deleting.Spec.TerminationGracePeriodSeconds, deleting.Metadata.DeletionGracePeriodSeconds);
            Assert.Equal("podrunner-node", deleting.Spec.NodeName);
            await kube.WaitForPodGoneAsync(name);
            Assert.NotEqual(0, (await ProcessRunner.RunAsync("docker", ["inspect", id], TimeSpan.FromSeconds(30))).ExitCode);
            return watch.Elapsed;
        }

        var graceful = await DeleteAndTimeAsync("graceful");
        var stubborn = await DeleteAndTimeAsync("stubborn");
        output.WriteLine($"graceful pod gone after {graceful.TotalSeconds:F1} s, stubborn one after {stubborn.TotalSeconds:F1} s");
        Assert.InRange(graceful.TotalSeconds, 1.4, 10);
        Assert.InRange(stubborn.TotalSeconds, 1.9, 10);
    }

    [Fact]
    public async Task MissingImage_IsWaitingWithErrImagePull_NotACrash()
    {
        await using var kube = await StartAsync(output, o => o.RestartBackoff = TimeSpan.FromMilliseconds(500));
        await kube.CreatePodAsync(ShellPod("missing", SleepForever, p => p.Spec.Containers[0].Image = "registry.invalid/no-such-image:1"));
        var pod = await kube.WaitForPodAsync("missing", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Waiting?.Reason is "ErrImagePull" or "ImagePullBackOff",
            "waiting with ErrImagePull/ImagePullBackOff");
        Assert.Equal("Pending", pod.Status.Phase);
        await kube.WaitForPodAsync("missing", p => p.Status.ContainerStatuses.Single().State.Waiting?.Reason == "ImagePullBackOff", "ImagePullBackOff after retries");
        Assert.Equal(0, pod.Status.ContainerStatuses.Single().RestartCount);
    }

    [Fact]
    public async Task CrashingContainer_RestartsWithBackoff_AndFailingLivenessRestartsARunningOne()
    {
        await using var kube = await StartAsync(output, o => o.RestartBackoff = TimeSpan.FromMilliseconds(500));
        await kube.CreatePodAsync(ShellPod("crash", "echo starting; exit 3", p => p.Spec.Containers[0].TerminationMessagePolicy = "FallbackToLogsOnError"));
        await kube.CreatePodAsync(ShellPod("unhealthy", "touch /tmp/alive; " + SleepForever, p => p.Spec.Containers[0].LivenessProbe = new V1Probe
        {
            Exec = new V1ExecAction { Command = ["test", "-f", "/tmp/alive"] },
            PeriodSeconds = 1,
            FailureThreshold = 2,
        }));

        var crash = await kube.WaitForPodAsync("crash", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.RestartCount >= 2, "two restarts");
        var status = crash.Status.ContainerStatuses.Single();
        Assert.Equal(3, status.LastState.Terminated.ExitCode);
        Assert.Equal("Error", status.LastState.Terminated.Reason);
        Assert.Contains("starting", status.LastState.Terminated.Message, StringComparison.Ordinal);
        var waiting = await kube.WaitForPodAsync("crash", p => p.Status.ContainerStatuses.Single().State.Waiting?.Reason == "CrashLoopBackOff", "CrashLoopBackOff");
        Assert.False(waiting.Status.ContainerStatuses.Single().Ready);
        Assert.False(IsReady(waiting));
        Assert.Equal("Running", waiting.Status.Phase);

        await kube.WaitForPodAsync("unhealthy", IsReady, "Ready");
        // The script creates /tmp/alive again when the restarted container starts.
        await kube.ExecAsync("unhealthy", "rm /tmp/alive");
        var restarted = await kube.WaitForPodAsync("unhealthy", p => p.Status.ContainerStatuses.Single().RestartCount == 1, "a liveness restart");
        Assert.Equal(0, restarted.Status.ContainerStatuses.Single().LastState.Terminated?.ExitCode);
        await kube.WaitForPodAsync("unhealthy", IsReady, "Ready after the restart");
    }

    [Fact]
    public async Task StartupProbe_HoldsReadinessAndLivenessUntilItPasses()
    {
        await using var kube = await StartAsync(output);
        await kube.CreatePodAsync(ShellPod("slow", SleepForever, p =>
        {
            var c = p.Spec.Containers[0];
            c.StartupProbe = new V1Probe { Exec = new V1ExecAction { Command = ["test", "-f", "/tmp/started"] }, PeriodSeconds = 1, FailureThreshold = 60 };
            c.ReadinessProbe = new V1Probe { Exec = new V1ExecAction { Command = ["true"] }, PeriodSeconds = 1 };
            // Would fail at once: it must not run before the startup probe passes.
            c.LivenessProbe = new V1Probe { Exec = new V1ExecAction { Command = ["test", "-f", "/tmp/started"] }, PeriodSeconds = 1, FailureThreshold = 1 };
        }));
        await kube.WaitForPodAsync("slow", p => p.Status?.Phase == "Running", "Running");
        await Task.Delay(2500);
        var waiting = await kube.Client.CoreV1.ReadNamespacedPodAsync("slow", Namespace);
        Assert.False(IsReady(waiting));
        Assert.False(waiting.Status.ContainerStatuses.Single().Started);
        Assert.Equal(0, waiting.Status.ContainerStatuses.Single().RestartCount);

        await kube.ExecAsync("slow", "touch /tmp/started");
        var ready = await kube.WaitForPodAsync("slow", IsReady, "Ready once the startup probe passes");
        Assert.True(ready.Status.ContainerStatuses.Single().Started);
        Assert.Equal(0, ready.Status.ContainerStatuses.Single().RestartCount);
    }

    // A tiny HTTP server in the image's perl: 200 while /tmp/healthy exists, else 503.
    private const string HttpServer = """
        perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die;
        while ($c = $s->accept) { <$c>; $code = -f "/tmp/healthy" ? "200 OK" : "503 Unavailable";
        print $c "HTTP/1.0 $code\r\nContent-Length: 0\r\n\r\n"; close $c }' &
        """;

    [Fact]
    public async Task TcpAndHttpProbes_ProbeThePodIpFromTheNode()
    {
        await using var kube = await StartAsync(output);
        await kube.CreatePodAsync(ShellPod("tcp", HttpServer + SleepForever, p =>
        {
            p.Spec.Containers[0].Ports = [new V1ContainerPort { Name = "http", ContainerPort = 8080 }];
            p.Spec.Containers[0].ReadinessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = "http" }, PeriodSeconds = 1 };
        }));
        await kube.CreatePodAsync(ShellPod("http", HttpServer + SleepForever, p =>
            p.Spec.Containers[0].ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Port = 8080, Path = "/healthz" }, PeriodSeconds = 1, FailureThreshold = 1 }));

        await kube.WaitForPodAsync("tcp", IsReady, "Ready once the port accepts connections");
        await kube.WaitForPodAsync("http", p => p.Status?.Phase == "Running", "Running");
        await Task.Delay(1500);
        Assert.False(IsReady(await kube.Client.CoreV1.ReadNamespacedPodAsync("http", Namespace)), "a 503 must keep the pod unready");
        await kube.ExecAsync("http", "touch /tmp/healthy");
        await kube.WaitForPodAsync("http", IsReady, "Ready once the endpoint answers 200");
    }

    [Fact]
    public async Task KafkaBrokerStatefulSet_BecomesReady_AndKcatReachesItThroughItsServiceName()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var kube = await StartAsync(output);
        var selector = new Dictionary<string, string> { ["app"] = "kafka" };
        await kube.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "kafka-brokers" },
            Spec = new V1ServiceSpec { ClusterIP = "None", PublishNotReadyAddresses = true, Selector = selector, Ports = [new V1ServicePort { Name = "kafka", Port = 9092 }] },
        }, Namespace);
        await kube.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "kafka-bootstrap" },
            Spec = new V1ServiceSpec { Selector = selector, Ports = [new V1ServicePort { Name = "kafka", Port = 9092 }] },
        }, Namespace);
        await kube.Client.AppsV1.CreateNamespacedStatefulSetAsync(new V1StatefulSet
        {
            Metadata = new V1ObjectMeta { Name = "kafka" },
            Spec = new V1StatefulSetSpec
            {
                Replicas = 1,
                ServiceName = "kafka-brokers",
                Selector = new V1LabelSelector { MatchLabels = selector },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = selector },
                    Spec = new V1PodSpec
                    {
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "kafka",
                                Image = E2EDocker.BrokerImage,
                                Env =
                                [
                                    new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                                    new V1EnvVar { Name = "KAFKA_ADVERTISED_LISTENERS", Value = $"PLAINTEXT://$(POD_NAME).kafka-brokers.{Namespace}.svc:9092" },
                                ],
                                Ports = [new V1ContainerPort { Name = "kafka", ContainerPort = 9092 }, new V1ContainerPort { Name = "health", ContainerPort = 8080 }],
                                ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/v1/ready", Port = "health" }, PeriodSeconds = 1 },
                                VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/var/lib/kafka/data" }],
                            },
                        ],
                    },
                },
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        Metadata = new V1ObjectMeta { Name = "data" },
                        Spec = new V1PersistentVolumeClaimSpec
                        {
                            AccessModes = ["ReadWriteOnce"],
                            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
                        },
                    },
                ],
            },
        }, Namespace);

        var started = Stopwatch.StartNew();
        await kube.WaitForPodAsync("kafka-0", IsReady, "the broker to report ready", TimeSpan.FromSeconds(90));
        output.WriteLine($"kafka-0 Ready {started.Elapsed.TotalSeconds:F1} s after the StatefulSet was created");
        await EventuallyAsync(async () => (await kube.Client.AppsV1.ReadNamespacedStatefulSetAsync("kafka", Namespace)).Status?.ReadyReplicas == 1, "readyReplicas 1");

        // kcat joins the cluster network as a plain container (no search list), so it uses the Service's full name; the
        // broker then points it at kafka-0.kafka-brokers.<ns>.svc, the name the headless Service publishes.
        var bootstrap = $"kafka-bootstrap.{Namespace}.svc.cluster.local:9092";
        (string, string)[] records = [("k1", "v1"), ("k2", "v2")];
        await Broker.KcatContainer.ProduceAsync(kube.Runner.NetworkName, bootstrap, "podrunner-topic", records);
        Assert.Equal(records, await Broker.KcatContainer.ConsumeAsync(kube.Runner.NetworkName, bootstrap, "podrunner-topic"));
    }
}
