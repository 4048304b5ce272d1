using System.Text.RegularExpressions;
using Broker.Server.Configuration;
using k8s.Models;

namespace Operator.Model.Tests;

/// <summary>
/// The generated node configuration is what our broker really accepts: each server.config goes through the
/// broker's own loader (BrokerConfig.Load) as the pod would start it.
/// </summary>
public sealed partial class BrokerContractTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("operator-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes the node's ConfigMap as the projected volume would and loads it like `kafka-broker start --config`.</summary>
    private BrokerConfig Load(KafkaClusterModel model, string pool, int nodeId)
    {
        var configMap = model.BuildNodeConfigMap(model.Pool(pool), nodeId);
        var podName = configMap.Metadata.Name;
        var container = model.BuildPod(model.Pool(pool), nodeId).Spec.Containers.Single();
        var configArg = container.Command[container.Command.IndexOf("--config") + 1];
        var path = Path.Combine(_dir, configArg.Replace(BrokerContainer.ConfigDirectory + "/", string.Empty, StringComparison.Ordinal)
            .Replace("$(POD_NAME)", podName, StringComparison.Ordinal));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, configMap.Data[BrokerContainer.ServerConfigKey]);
        // The pod's environment: the image sets no KAFKA_* variable; POD_NAME is not config.
        return BrokerConfig.Load(path, new Dictionary<string, string> { ["POD_NAME"] = podName }, new Dictionary<string, string>());
    }

    [Fact]
    public void BrokerNode_LoadsWithExpectedIdentityListenersAndDirs()
    {
        var model = Repo.Model("kafka/kafka-persistent.yaml");
        var config = Load(model, "broker", 1);
        Assert.Equal(1, config.NodeId);
        Assert.Equal(["broker"], config.ProcessRoles);
        Assert.Equal(Repo.ClusterId, config.ClusterId);
        Assert.Equal(["REPLICATION-9091://0.0.0.0:9091", "PLAIN-9092://0.0.0.0:9092", "TLS-9093://0.0.0.0:9093"], config.Listeners.Select(l => l.ToString()));
        Assert.Equal("my-cluster-broker-1.my-cluster-kafka-brokers.myproject.svc", config.AdvertisedListeners.Single(l => l.Name == "PLAIN-9092").Host);
        Assert.Equal("REPLICATION-9091", config.InterBrokerListenerName);
        Assert.Equal(["CONTROLPLANE-9090"], config.ControllerListenerNames);
        Assert.Equal(["3@my-cluster-controller-3.my-cluster-kafka-brokers.myproject.svc:9090", "4@my-cluster-controller-4.my-cluster-kafka-brokers.myproject.svc:9090", "5@my-cluster-controller-5.my-cluster-kafka-brokers.myproject.svc:9090"],
            config.ControllerQuorumVoters);
        Assert.Equal(["/var/lib/kafka/data-0/kafka-log1"], config.LogDirs);
        Assert.Equal("/var/lib/kafka/data-0/kafka-log1", config.MetadataLogDir);
        Assert.Equal((8080, 9404), (config.HealthPort, config.MetricsPort));
        Assert.Equal(3, config.DefaultReplicationFactor);
        Assert.Equal(2, config.MinInsyncReplicas);
        Assert.Equal("SSL", config.SecurityProtocolFor("TLS-9093"));
        // Every key the operator writes is one the broker knows.
        Assert.All(config.AllValues.Values.Where(v => v.Source == ConfigSource.File), v => Assert.True(v.IsKnown, v.Name + " is unknown to the broker"));
    }

    [Fact]
    public void ControllerNode_LoadsWithControlPlaneOnly()
    {
        var config = Load(Repo.Model("kafka/kafka-persistent.yaml"), "controller", 4);
        Assert.Equal(4, config.NodeId);
        Assert.Equal(["controller"], config.ProcessRoles);
        Assert.Equal(["CONTROLPLANE-9090://0.0.0.0:9090"], config.Listeners.Select(l => l.ToString()));
        Assert.Equal(["/var/lib/kafka/data-0/kafka-log4"], config.LogDirs);
    }

    [Fact]
    public void LegacyCombinedNode_FromTheSeedManifest_Loads()
    {
        var model = KafkaClusterModel.From((Api.Kafka)Repo.ReadExample("seed/kafka-persistent.yaml").Single(), [], Repo.Options());
        var config = Load(model, "kafka", 2);
        Assert.Equal(2, config.NodeId);
        Assert.True(config.HasBrokerRole && config.HasControllerRole);
        Assert.Equal(["CONTROLPLANE-9090", "REPLICATION-9091", "PLAIN-9092", "TLS-9093"], config.Listeners.Select(l => l.Name));
        Assert.Equal(["/var/lib/kafka/data-0/kafka-log2"], config.LogDirs);
        Assert.Equal(3, config.OffsetsTopicReplicationFactor);
    }

    [Fact]
    public void JbodAndScramNodes_Load()
    {
        var jbod = Load(Repo.Model("kafka/kafka-jbod.yaml"), "broker", 0);
        Assert.Equal(["/var/lib/kafka/data-0/kafka-log0", "/var/lib/kafka/data-1/kafka-log0"], jbod.LogDirs);
        var scram = Load(Repo.Model("security/scram-sha-512-auth/kafka.yaml"), "broker", 2);
        Assert.Equal("SASL_SSL", scram.SecurityProtocolFor("TLS-9093"));
        var external = Load(Repo.Model("kafka/kafka-external-listeners.yaml"), "dual-role", 0);
        Assert.Equal("broker-0.kafka.example.com", external.AdvertisedListeners.Single(l => l.Name == "INGRESS-9096").Host);
    }

    [Fact]
    public void DataVolumes_AreMountedWhereLogDirsPoint()
    {
        var model = Repo.Model("kafka/kafka-jbod.yaml");
        var container = model.BuildPod(model.Pool("broker"), 0).Spec.Containers.Single();
        var config = Load(model, "broker", 0);
        Assert.All(config.LogDirs, dir => Assert.Contains(container.VolumeMounts, m => dir.StartsWith(m.MountPath + "/", StringComparison.Ordinal)));
    }

    [Fact]
    public void Probes_UseTheBrokersHealthEndpoints()
    {
        var model = Repo.Model("kafka/kafka-persistent.yaml");
        var broker = model.BuildPod(model.Pool("broker"), 0).Spec.Containers.Single();
        var config = Load(model, "broker", 0);
        Assert.Equal("/v1/ready", broker.ReadinessProbe.HttpGet.Path);
        Assert.Equal(config.HealthPort.ToString(System.Globalization.CultureInfo.InvariantCulture), broker.ReadinessProbe.HttpGet.Port.Value);
        Assert.Contains(broker.Ports, p => p.Name == "tcp-prometheus" && p.ContainerPort == config.MetricsPort);
        var controller = model.BuildPod(model.Pool("controller"), 3).Spec.Containers.Single();
        Assert.Equal("9090", controller.ReadinessProbe.TcpSocket.Port.Value);
    }

    // The broker lets KAFKA_* variables win over the file: an image that set some with ENV would silently replace the
    // generated listeners or log.dirs. The pod runs the image's own entrypoint executable.
    [Fact]
    public void PodCommand_RunsTheImageEntrypoint_AndTheImageSetsNoKafkaVariable()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Repo.Root, "Dockerfile.broker"));
        Assert.Empty(KafkaEnv().Matches(dockerfile));
        var model = Repo.Model("kafka/kafka-persistent.yaml");
        var command = model.BuildPod(model.Pool("broker"), 0).Spec.Containers.Single().Command;
        Assert.Equal(Regex.Match(dockerfile, "ENTRYPOINT \\[\"([^\"]+)\"\\]").Groups[1].Value, command[0]);
        Assert.Equal(["start", "--auto-format", "--config", BrokerContainer.ServerConfigPath], command.Skip(1));
    }

    [GeneratedRegex(@"^ENV\b[^\n]*\bKAFKA_[A-Z0-9_]+=|^\s+KAFKA_[A-Z0-9_]+=", RegexOptions.Multiline)]
    private static partial Regex KafkaEnv();
}
