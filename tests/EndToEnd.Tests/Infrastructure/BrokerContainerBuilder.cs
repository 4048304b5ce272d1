using System.Globalization;
using Broker.Server.Configuration;
using System.Text;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Networks;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Infrastructure;

/// <summary>
/// Describes one broker container of the image built from Dockerfile.broker: its name (unique per run, so its DNS name
/// on a user-defined network), networks and aliases, KAFKA_* environment, volumes, files copied in before start and
/// bind mounts, ports published on 127.0.0.1 only. Host ports are picked when they are asked for, before the container exists, so
/// they can go into advertised.listeners. <see cref="WithHostListener"/> is the usual shape: PLAINTEXT on 9092 for
/// other containers (advertised under the container's name) plus HOST on 9094 published for this process.
/// Owned by one test; not thread-safe.
/// </summary>
internal sealed class BrokerContainerBuilder
{
    /// <summary>Where the image keeps its default configuration (and where a mounted server.properties goes).</summary>
    public const string ConfigPath = "/opt/kafka/config/server.properties";

    /// <summary>The image's data directory (log.dirs of the default configuration), a volume.</summary>
    public const string DataPath = "/var/lib/kafka/data";

    /// <summary>The listener the image's default configuration opens (PLAINTEXT://:9092).</summary>
    public const int KafkaPort = 9092;

    /// <summary>The port of the listener <see cref="WithHostListener"/> adds for clients on the host.</summary>
    public const int HostListenerPort = 9094;

    /// <summary>The image's health port (/v1/ready, /v1/broker-state).</summary>
    public const int HealthPort = 8080;

    /// <summary>The image's user (Dockerfile.broker: useradd --uid 1001).</summary>
    public const uint ImageUser = 1001;

    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);
    private readonly List<(string Network, string[] Aliases)> _networks = [];
    private readonly List<(string Volume, string Path, bool ReadOnly)> _volumes = [];
    private readonly List<(string Path, byte[] Content)> _files = [];
    private readonly List<(string HostPath, string Path, bool ReadOnly)> _bindMounts = [];
    private readonly SortedDictionary<int, int> _publishedPorts = [];
    private string[]? _command;
    private ITestOutputHelper? _output;

    /// <param name="name">Short name, unique within the test; the container is named <c>e2e-&lt;run id&gt;-&lt;name&gt;</c>.</param>
    public BrokerContainerBuilder(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = $"e2e-{E2EDocker.RunId}-{name}";
        PublishPort(HealthPort);
    }

    /// <summary>The container's name, also its DNS name on every user-defined network it joins.</summary>
    public string Name { get; }

    public string Image { get; private set; } = E2EDocker.BrokerImage;

    public BrokerContainerBuilder WithImage(string image)
    {
        Image = image;
        return this;
    }

    /// <summary>Joins <paramref name="network"/>, reachable there as <see cref="Name"/> and as each alias.</summary>
    public BrokerContainerBuilder WithNetwork(INetwork network, params string[] aliases) => WithNetwork(network.Name, aliases);

    /// <summary>Joins the user-defined network named <paramref name="network"/> (one this test created, e.g. the pod runner's).</summary>
    public BrokerContainerBuilder WithNetwork(string network, params string[] aliases)
    {
        _networks.Add((network, aliases));
        return this;
    }

    /// <summary>Sets a variable; for broker configuration use <see cref="WithConfig"/>, which spells the KAFKA_ name.</summary>
    public BrokerContainerBuilder WithEnvironment(string name, string value)
    {
        _environment[name] = value;
        return this;
    }

    /// <summary>Sets a broker key through the environment in the Apache Kafka image's convention (KAFKA_ADVERTISED_LISTENERS).</summary>
    public BrokerContainerBuilder WithConfig(string key, string value) => WithEnvironment(EnvironmentConfig.ToVariableName(key), value);

    /// <summary>Mounts the named volume (see <see cref="E2EDocker.CreateVolumeAsync"/>) at <paramref name="path"/>.</summary>
    public BrokerContainerBuilder WithVolume(string volume, string path = DataPath, bool readOnly = false)
    {
        _volumes.Add((volume, path, readOnly));
        return this;
    }

    /// <summary>Bind-mounts a host file or directory (the host path must be readable by uid 1001 to be usable).</summary>
    public BrokerContainerBuilder WithBindMount(string hostPath, string path, bool readOnly = true)
    {
        _bindMounts.Add((hostPath, path, readOnly));
        return this;
    }

    /// <summary>Copies a file into the container before it starts, owned by the image's user.</summary>
    public BrokerContainerBuilder WithFile(string path, string content)
    {
        _files.Add((path, Encoding.UTF8.GetBytes(content)));
        return this;
    }

    /// <summary>Where the container's log goes when it is disposed (every test should pass its output).</summary>
    public BrokerContainerBuilder WithOutput(ITestOutputHelper output)
    {
        _output = output;
        return this;
    }

    /// <summary>Replaces the image's CMD (the arguments after the kafka-broker entrypoint).</summary>
    public BrokerContainerBuilder WithCommand(params string[] command)
    {
        _command = command;
        return this;
    }

    /// <summary>Publishes <paramref name="containerPort"/> on a free 127.0.0.1 port and returns that port (the same one on repeated calls).</summary>
    public int PublishPort(int containerPort)
    {
        if (!_publishedPorts.TryGetValue(containerPort, out var hostPort))
        {
            hostPort = LoopbackPorts.Free();
            _publishedPorts[containerPort] = hostPort;
        }

        return hostPort;
    }

    /// <summary>
    /// Two listeners, as the Apache Kafka image's examples have them: PLAINTEXT on 9092 for containers on the same
    /// networks (advertised as <paramref name="advertisedHost"/>, by default the container's name) and HOST on 9094,
    /// published on 127.0.0.1 and advertised as that address, for clients in this process. Returns the host port.
    /// </summary>
    public int WithHostListener(string? advertisedHost = null)
    {
        var hostPort = PublishPort(HostListenerPort);
        WithConfig("listeners", string.Create(CultureInfo.InvariantCulture, $"PLAINTEXT://:{KafkaPort},HOST://:{HostListenerPort}"));
        WithConfig("advertised.listeners", string.Create(CultureInfo.InvariantCulture, $"PLAINTEXT://{advertisedHost ?? Name}:{KafkaPort},HOST://127.0.0.1:{hostPort}"));
        WithConfig("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,HOST:PLAINTEXT");
        WithConfig("inter.broker.listener.name", "PLAINTEXT");
        return hostPort;
    }

    /// <summary>Creates the container (not started); dispose the result to remove it.</summary>
    public BrokerContainer Build()
    {
        var builder = new ContainerBuilder(Image)
            .WithName(Name)
            .WithLabel(E2EDocker.Labels)
            .WithEnvironment(_environment)
            .WithCreateParameterModifier(PublishOnLoopback);
        if (_command is not null)
        {
            builder = builder.WithCommand(_command);
        }

        foreach (var (network, aliases) in _networks)
        {
            builder = builder.WithNetwork(network).WithNetworkAliases([Name, .. aliases]);
        }

        foreach (var (volume, path, readOnly) in _volumes)
        {
            builder = builder.WithVolumeMount(volume, path, readOnly ? AccessMode.ReadOnly : AccessMode.ReadWrite);
        }

        foreach (var (hostPath, path, readOnly) in _bindMounts)
        {
            builder = builder.WithBindMount(hostPath, path, readOnly ? AccessMode.ReadOnly : AccessMode.ReadWrite);
        }

        foreach (var (path, content) in _files)
        {
            builder = builder.WithResourceMapping(content, FilePath.Of(path), ImageUser, ImageUser, Unix.FileMode644);
        }

        return new BrokerContainer(builder.Build(), Name, new Dictionary<int, int>(_publishedPorts), _output);
    }

    // Testcontainers publishes on every interface; these tests reach containers only through 127.0.0.1.
    private void PublishOnLoopback(CreateContainerParameters parameters)
    {
        parameters.ExposedPorts ??= new Dictionary<string, EmptyStruct>();
        parameters.HostConfig ??= new HostConfig();
        parameters.HostConfig.PortBindings ??= new Dictionary<string, IList<PortBinding>>();
        foreach (var (containerPort, hostPort) in _publishedPorts)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"{containerPort}/tcp");
            parameters.ExposedPorts[key] = default;
            parameters.HostConfig.PortBindings[key] = [new PortBinding { HostIP = "127.0.0.1", HostPort = hostPort.ToString(CultureInfo.InvariantCulture) }];
        }
    }
}
