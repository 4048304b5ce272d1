using System.Text;
using k8s.Models;

namespace Kube.PodRunner.Tests;

/// <summary>The Docker-free translations: environment, DNS aliases, projected files, pod IPs.</summary>
public sealed class PodSpecTranslationTests
{
    private static readonly EnvResolver.PodRuntime Runtime = new("172.20.0.254", "172.20.0.1", "node-a");

    private static V1Pod Pod(Dictionary<string, string>? labels = null, string? hostname = null, string? subdomain = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "p-0", NamespaceProperty = "ns", Uid = "uid-1", Labels = labels },
        Spec = new V1PodSpec { Hostname = hostname, Subdomain = subdomain, Containers = [new V1Container { Name = "c", Image = "i" }] },
    };

    private static ClusterState State(IEnumerable<V1Service>? services = null) => new(
        [],
        services ?? [],
        [new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm", NamespaceProperty = "ns" }, Data = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } }],
        [new V1Secret { Metadata = new V1ObjectMeta { Name = "s", NamespaceProperty = "ns" }, Data = new Dictionary<string, byte[]> { ["pw"] = Encoding.UTF8.GetBytes("x") } }],
        []);

    [Fact]
    public void Resolve_EnvFromThenEnv_ValueFromAndExpansionInOrder()
    {
        var container = new V1Container
        {
            Name = "c",
            EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = "cm" }, Prefix = "CM_" }],
            Env =
            [
                new V1EnvVar { Name = "PW", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "s", Key = "pw" } } },
                new V1EnvVar { Name = "IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
                new V1EnvVar { Name = "NODE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "spec.nodeName" } } },
                new V1EnvVar { Name = "URL", Value = "http://$(IP):$(PORT)/$$(IP)" },
                new V1EnvVar { Name = "CM_A", Value = "override" },
                new V1EnvVar { Name = "OPT", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "nope", Key = "k", Optional = true } } },
            ],
        };

        var env = EnvResolver.Resolve(Pod(), container, State(), Runtime);

        Assert.Equal(
            ["CM_a=1", "CM_b=2", "PW=x", "IP=172.20.0.254", "NODE=node-a", "URL=http://172.20.0.254:$(PORT)/$(IP)", "CM_A=override"],
            env.Select(kv => $"{kv.Key}={kv.Value}"));
    }

    [Fact]
    public void Resolve_MissingKey_IsCreateContainerConfigError()
    {
        var container = new V1Container
        {
            Name = "c",
            Env = [new V1EnvVar { Name = "X", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "cm", Key = "zz" } } }],
        };

        var error = Assert.Throws<PodConfigException>(() => EnvResolver.Resolve(Pod(), container, State(), Runtime));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Equal("couldn't find key zz in ConfigMap ns/cm", error.Message);
    }

    [Fact]
    public void Aliases_SelectingServices_ReadyOrPublishNotReady_AndHeadlessHostname()
    {
        var labels = new Dictionary<string, string> { ["app"] = "k", ["extra"] = "y" };
        V1Service Service(string name, bool headless = false, bool publishNotReady = false, string ns = "ns", string app = "k") => new()
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new V1ServiceSpec { ClusterIP = headless ? "None" : "10.96.0.1", PublishNotReadyAddresses = publishNotReady, Selector = new Dictionary<string, string> { ["app"] = app } },
        };
        var services = new[] { Service("bootstrap"), Service("brokers", headless: true, publishNotReady: true), Service("other", app: "z"), Service("elsewhere", ns: "ns2") };
        var pod = Pod(labels, hostname: "p-0", subdomain: "brokers");

        var notReady = DnsNames.Aliases(pod, ready: false, services, "cluster.local");
        var ready = DnsNames.Aliases(pod, ready: true, services, "cluster.local");

        Assert.Equal(["brokers.ns", "brokers.ns.svc", "brokers.ns.svc.cluster.local", "p-0.brokers.ns.svc", "p-0.brokers.ns.svc.cluster.local"], notReady);
        Assert.Equal(
            ["bootstrap.ns", "bootstrap.ns.svc", "bootstrap.ns.svc.cluster.local", "brokers.ns", "brokers.ns.svc", "brokers.ns.svc.cluster.local", "p-0.brokers.ns.svc", "p-0.brokers.ns.svc.cluster.local"],
            ready);
        Assert.Equal(["ns.svc.cluster.local", "svc.cluster.local", "cluster.local"], DnsNames.SearchDomains("ns", "cluster.local"));
    }

    [Fact]
    public void Sync_ItemsAndModes_RewritesChangedAndRemovesDroppedKeys()
    {
        var directory = Directory.CreateTempSubdirectory("podrunner-test-").FullName;
        try
        {
            var volume = new V1Volume { Name = "v", ConfigMap = new V1ConfigMapVolumeSource { Name = "cm", DefaultMode = 0x180, Items = [new V1KeyToPath { Key = "a", Path = "dir/a.txt" }] } };
            var files = VolumeProjector.DesiredFiles(volume, "ns", State());
            Assert.True(VolumeProjector.Sync(directory, files));
            Assert.False(VolumeProjector.Sync(directory, files));
            Assert.Equal("1", File.ReadAllText(Path.Combine(directory, "dir", "a.txt")));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, "dir", "a.txt")));
            }

            var all = VolumeProjector.DesiredFiles(new V1Volume { Name = "v", ConfigMap = new V1ConfigMapVolumeSource { Name = "cm" } }, "ns", State());
            Assert.True(VolumeProjector.Sync(directory, all));
            Assert.Equal(["a", "b"], Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order(StringComparer.Ordinal));

            var missing = new V1Volume { Name = "v", Secret = new V1SecretVolumeSource { SecretName = "nope" } };
            Assert.Equal("ContainerCreating", Assert.Throws<PodConfigException>(() => VolumeProjector.DesiredFiles(missing, "ns", State())).Reason);
            missing.Secret.Optional = true;
            Assert.Empty(VolumeProjector.DesiredFiles(missing, "ns", State()));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void DesiredFiles_ProjectedConfigMapAndSecretSources_MergeWithTheVolumeMode()
    {
        var volume = new V1Volume
        {
            Name = "v",
            Projected = new V1ProjectedVolumeSource
            {
                DefaultMode = 0x100,
                Sources =
                [
                    new V1VolumeProjection { ConfigMap = new V1ConfigMapProjection { Name = "cm", Items = [new V1KeyToPath { Key = "a", Path = "p-0/a" }] } },
                    new V1VolumeProjection { Secret = new V1SecretProjection { Name = "s" } },
                    new V1VolumeProjection { ConfigMap = new V1ConfigMapProjection { Name = "absent", Optional = true } },
                ],
            },
        };

        var files = VolumeProjector.DesiredFiles(volume, "ns", State());

        Assert.Equal(["p-0/a", "pw"], files.Keys.Order(StringComparer.Ordinal));
        Assert.All(files.Values, f => Assert.Equal(0x100, f.Mode));
        volume.Projected.Sources[2].ConfigMap.Optional = false;
        Assert.Throws<PodConfigException>(() => VolumeProjector.DesiredFiles(volume, "ns", State()));
    }

    [Fact]
    public void IpAllocator_HandsOutFromTheTopSkippingTheGateway_AndReusesReleased()
    {
        var ips = new IpAllocator("172.20.5.0/24", "172.20.5.1");

        Assert.Equal("172.20.5.254", ips.Allocate());
        Assert.Equal("172.20.5.253", ips.Allocate());
        ips.Release("172.20.5.254");
        Assert.Equal("172.20.5.254", ips.Allocate());
    }
}
