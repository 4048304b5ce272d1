using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Networks;
using DotNet.Testcontainers.Volumes;

namespace EndToEnd.Tests.Infrastructure;

/// <summary>
/// What every end-to-end test shares about the Docker engine: the label that marks the suite's containers, networks
/// and volumes, the sweep of leftovers from an earlier run that died before its fixtures could clean up (there is no
/// Ryuk here), and the images built once per run from the repository's Dockerfiles. Several checkouts may run the
/// suite on one engine at once: image tags carry a hash of the checkout's path, and the sweep only removes what a
/// test process that no longer runs created (<see cref="OwnerLabel"/>). Thread-safe.
/// </summary>
internal static class E2EDocker
{
    /// <summary>Label key on everything the suite creates; the value is the run id.</summary>
    public const string SuiteLabel = "io.strimzi-dotnet.e2e";

    /// <summary>Label key holding the id of the test process that created the resource (the sweep spares live ones).</summary>
    public const string OwnerLabel = SuiteLabel + ".owner-pid";

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<Task> Swept = new(SweepAsync);
    private static readonly Lazy<Task> BrokerBuilt = new(() => BuildAsync("Dockerfile.broker", BrokerImage));
    private static readonly Lazy<Task> OperatorBuilt = new(() => BuildAsync("Dockerfile.operator", OperatorImage));

    /// <summary>Identifies this test run in <see cref="SuiteLabel"/>.</summary>
    public static string RunId { get; } = Guid.NewGuid().ToString("N")[..12];

    /// <summary>The labels to put on every container, network and volume a test creates.</summary>
    public static IReadOnlyDictionary<string, string> Labels { get; } = new Dictionary<string, string>
    {
        [SuiteLabel] = RunId,
        [OwnerLabel] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The broker image built from Dockerfile.broker for this run (tagged per checkout).</summary>
    public static string BrokerImage => "kafka-broker:e2e-" + CheckoutId;

    /// <summary>The operator image built from Dockerfile.operator for this run (tagged per checkout).</summary>
    public static string OperatorImage => "strimzi-operator:e2e-" + CheckoutId;

    // Two checkouts building the same tag at once would each run the other's image.
    private static string CheckoutId => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(RepositoryPaths.Root)))[..10];

    /// <summary>Removes what an earlier run left (once per run).</summary>
    public static Task EnsureSweptAsync() => Swept.Value;

    /// <summary>Removes what an earlier run left (once per run), then builds the broker image (once per run).</summary>
    public static async Task EnsureBrokerImageAsync()
    {
        await Swept.Value;
        await BrokerBuilt.Value;
    }

    /// <summary>Removes what an earlier run left (once per run), then builds the operator image (once per run).</summary>
    public static async Task EnsureOperatorImageAsync()
    {
        await Swept.Value;
        await OperatorBuilt.Value;
    }

    /// <summary>A user-defined bridge network <c>e2e-&lt;run id&gt;-&lt;name&gt;</c>, labelled for the sweep; dispose it to remove it.</summary>
    public static async Task<INetwork> CreateNetworkAsync(string name)
    {
        var network = new NetworkBuilder().WithName($"e2e-{RunId}-{name}").WithLabel(Labels).Build();
        await network.CreateAsync();
        return network;
    }

    /// <summary>A named volume <c>e2e-&lt;run id&gt;-&lt;name&gt;</c>, labelled for the sweep; dispose it to remove it.</summary>
    public static async Task<IVolume> CreateVolumeAsync(string name)
    {
        var volume = new VolumeBuilder().WithName($"e2e-{RunId}-{name}").WithLabel(Labels).Build();
        await volume.CreateAsync();
        return volume;
    }

    /// <summary>Runs the docker CLI and fails the test with its output when it exits non-zero.</summary>
    public static async Task<string> RunAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("docker", arguments, CommandTimeout);
        Assert.True(result.ExitCode == 0, $"docker {string.Join(' ', arguments)} failed: {result.Describe()}");
        return result.StandardOutput;
    }

    private static async Task BuildAsync(string dockerfile, string tag)
    {
        var result = await ProcessRunner.RunAsync(
            "docker", ["build", "-q", "-f", Path.Combine(RepositoryPaths.Root, dockerfile), "-t", tag, RepositoryPaths.Root], BuildTimeout);
        Assert.True(result.ExitCode == 0, $"docker build of {dockerfile} failed: {result.Describe()}");
    }

    // Containers first: a network or volume in use cannot be removed. Only what a finished test process left.
    private static async Task SweepAsync()
    {
        var filter = $"label={SuiteLabel}";
        var format = "{{.ID}} {{.Label \"" + OwnerLabel + "\"}}";
        var containers = Orphans(await RunAsync("ps", "-a", "--filter", filter, "--format", format));
        if (containers.Count > 0)
        {
            await RunAsync(["rm", "-f", "-v", .. containers]);
        }

        var networks = Orphans(await RunAsync("network", "ls", "--filter", filter, "--format", format));
        if (networks.Count > 0)
        {
            await RunAsync(["network", "rm", .. networks]);
        }

        var volumes = Orphans(await RunAsync("volume", "ls", "--filter", filter, "--format", format.Replace(".ID", ".Name", StringComparison.Ordinal)));
        if (volumes.Count > 0)
        {
            await RunAsync(["volume", "rm", "-f", .. volumes]);
        }
    }

    // Lines of "<id> <owner pid>": the ids whose owner is not a running process (or unknown).
    private static List<string> Orphans(string listing)
    {
        var result = new List<string>();
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            var alive = parts.Length == 2 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid) && Directory.Exists($"/proc/{pid}");
            if (!alive)
            {
                result.Add(parts[0]);
            }
        }

        return result;
    }
}
