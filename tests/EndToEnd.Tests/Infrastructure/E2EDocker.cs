using System.Diagnostics;
using System.Globalization;
using Broker.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Networks;
using DotNet.Testcontainers.Volumes;

namespace EndToEnd.Tests.Infrastructure;

/// <summary>
/// What every end-to-end test shares about the Docker engine: the label that marks the suite's containers, networks
/// and volumes, the sweep of leftovers from an earlier run that died before its fixtures could clean up (there is no
/// Ryuk here; a run still alive, e.g. a second worktree's on the same engine, keeps its things), and the images built
/// once per run from the repository's Dockerfiles. Thread-safe.
/// </summary>
internal static class E2EDocker
{
    /// <summary>Label key on everything the suite creates; the value is the run id.</summary>
    public const string SuiteLabel = "io.strimzi-dotnet.e2e";

    /// <summary>Label key holding the id of the test process that created the object, so a sweep can tell a dead run's leftovers from a live run's.</summary>
    public const string OwnerLabel = "io.strimzi-dotnet.e2e.pid";

    /// <summary>The broker image built from Dockerfile.broker for this run.</summary>
    public const string BrokerImage = "kafka-broker:e2e";

    /// <summary>The operator image built from Dockerfile.operator for this run.</summary>
    public const string OperatorImage = "strimzi-operator:e2e";

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

    // Containers first: a network or volume in use cannot be removed.
    private static async Task SweepAsync()
    {
        var filter = $"label={SuiteLabel}";
        var owner = $"{{{{.Label \"{OwnerLabel}\"}}}}";
        var containers = Abandoned(await RunAsync("ps", "-a", "--filter", filter, "--format", "{{.ID}} " + owner));
        if (containers.Length > 0)
        {
            await RunAsync(["rm", "-f", "-v", .. containers]);
        }

        var networks = Abandoned(await RunAsync("network", "ls", "--filter", filter, "--format", "{{.ID}} " + owner));
        if (networks.Length > 0)
        {
            await RunAsync(["network", "rm", .. networks]);
        }

        var volumes = Abandoned(await RunAsync("volume", "ls", "--filter", filter, "--format", "{{.Name}} " + owner));
        if (volumes.Length > 0)
        {
            await RunAsync(["volume", "rm", "-f", .. volumes]);
        }
    }

    /// <summary>
    /// The ids of "id pid" lines whose creating process is gone. Objects without the owner label are left alone: a
    /// suite from before the label may still be running them.
    /// </summary>
    private static string[] Abandoned(string listing) =>
        [.. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Trim().Split(' ', 2))
            .Where(fields => fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && !IsRunning(pid))
            .Select(fields => fields[0])];

    private static bool IsRunning(int id)
    {

        try
        {
            using var process = Process.GetProcessById(id);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
