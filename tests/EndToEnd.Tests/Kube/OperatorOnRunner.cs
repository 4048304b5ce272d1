using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using EndToEnd.Tests.Infrastructure;
using EndToEnd.Tests.Operator;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Kube.PodRunner;
using Operator.Api;
using Operator.Chart.Tests;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Kube;

/// <summary>
/// Kubernetes without a cluster, for one test or one ordered class of them: the API-server fixture with the CRDs, the
/// pod runner as its kubelet (pods are real containers on one Docker network), and the operator image reconciling the
/// namespace <see cref="Namespace"/>. The chart is installed as <c>helm install -n strimzi --set
/// watchNamespaces={myproject}</c> would (its service account, roles and bindings, its Deployment as an object), and the
/// operator container runs with that Deployment's environment as the chart's service account, so
/// <see cref="AssertOperatorStayedWithinTheChartsRbac"/> can check every request it made against the chart's RBAC. Tests apply resources and act as a user would (kubectl, a client container on the
/// cluster network); waits fail with the Kafka status, the pods and the operator's and brokers' logs.
/// Thread-safe for the waits and client containers; owned by one test (class).
/// </summary>
internal sealed class OperatorOnRunner : IWaitingCluster, IAsyncDisposable
{
    public const string Cluster = "my-cluster";
    public const string Namespace = ApiServerWithCrds.Namespace;

    /// <summary>The plain listener's bootstrap address inside the cluster network, as an in-cluster client spells it.</summary>
    public const string Bootstrap = $"{Cluster}-kafka-bootstrap.{Namespace}.svc:9092";

    /// <summary>The namespace the chart is installed in (the operator's own, with its lease).</summary>
    public const string ReleaseNamespace = "strimzi";

    private const string ServiceAccount = "strimzi-cluster-operator";
    private const string OperatorUser = $"system:serviceaccount:{ReleaseNamespace}:{ServiceAccount}";
    private const string KubeconfigMount = "/opt/strimzi/kube";
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);

    private readonly SwitchableOutput _output;
    private readonly TestOutputLoggerFactory _loggers;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<AuditEvent> _audit;
    private IReadOnlyList<JsonObject> _chart = [];

    private OperatorOnRunner(ApiServerWithCrds api, ConcurrentQueue<AuditEvent> audit, SwitchableOutput output)
    {
        Api = api;
        _audit = audit;
        _output = output;
        _loggers = new TestOutputLoggerFactory(output);
    }

    public ApiServerWithCrds Api { get; }

    public Kubernetes Client => Api.Client;

    public PodRunner Runner { get; private set; } = null!;

    /// <summary>The cluster network: client containers join it to reach Services and pods by their DNS names.</summary>
    public string Network => Runner.NetworkName;

    private IContainer Operator { get; set; } = null!;

    /// <summary>Where log lines go; a class of tests points it at the running test's output.</summary>
    public ITestOutputHelper? Output
    {
        get => _output.Target;
        set => _output.Target = value;
    }

    public static async Task<OperatorOnRunner> StartAsync(ITestOutputHelper output, string runnerSuffix)
    {
        await E2EDocker.EnsureOperatorImageAsync();
        await E2EDocker.EnsureBrokerImageAsync();
        var audit = new ConcurrentQueue<AuditEvent>();
        var api = await ApiServerWithCrds.StartAsync(new KubeApiServerOptions { Audit = audit.Enqueue }, OperatorUser);
        var fixture = new OperatorOnRunner(api, audit, new SwitchableOutput { Target = output });
        try
        {
            fixture.Runner = await PodRunner.StartAsync(fixture.Client, new PodRunnerOptions
            {
                Labels = E2EDocker.Labels,
                NamePrefix = $"e2e-{E2EDocker.RunId}-{runnerSuffix}",
            }, fixture._loggers);

            // helm install: the release namespace, then the templates rendered with the broker image built for this run.
            await fixture.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ReleaseNamespace } });
            var tag = E2EDocker.BrokerImage[(E2EDocker.BrokerImage.IndexOf(':', StringComparison.Ordinal) + 1)..];
            fixture._chart = RenderedManifests.Parse(RenderedManifests.Chart.Render(new Release("strimzi", ReleaseNamespace),
                $"watchNamespaces: [{Namespace}]\nkafka:\n  image:\n    tag: {tag}\n"));
            await ApiServerApply.CreateAllAsync(api.Server, fixture._chart);

            var operatorPod = $"{ServiceAccount}-e2e";
            var container = new ContainerBuilder(E2EDocker.OperatorImage)
                .WithName($"operator-{runnerSuffix}-{E2EDocker.RunId}")
                .WithBindMount(fixture.Api.KubeconfigDirectory, KubeconfigMount, AccessMode.ReadOnly);
            foreach (var (name, value) in DeploymentEnvironment(fixture._chart.Get("Deployment", ServiceAccount, ReleaseNamespace), operatorPod))
            {
                container = container.WithEnvironment(name, value);
            }

            fixture.Operator = container
                .WithEnvironment("KUBECONFIG", $"{KubeconfigMount}/config")
                // The operator shares the host's network to reach the fixture on 127.0.0.1, so the chart's 8080 could be taken.
                .WithEnvironment("STRIMZI_HEALTH_PORT", LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture))
                .WithCreateParameterModifier(parameters => parameters.HostConfig!.NetworkMode = "host")
                .WithLabel(E2EDocker.Labels)
                .Build();
            await fixture.Operator.StartAsync();
            fixture.Log("operator container started");
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Every request the operator made so far (as the chart's service account) is one the chart's RBAC allows, and it made
    /// some; returns how many.
    /// </summary>
    public int AssertOperatorStayedWithinTheChartsRbac()
    {
        var policy = new RbacPolicy(_chart, ReleaseNamespace, ServiceAccount);
        var requests = _audit.Where(e => e.User == OperatorUser).Select(e => new RbacRequest(e.Verb, e.Group, e.Resource, e.Subresource, e.Namespace, e.Name)).ToList();
        Assert.True(requests.Count > 0, "the operator made no request as the chart's service account");
        var denied = requests.Where(r => !policy.Allows(r)).Select(r => r.ToString()).Distinct().ToList();
        Assert.True(denied.Count == 0, $"the chart's RBAC denies requests the operator image made:{Environment.NewLine}{string.Join(Environment.NewLine, denied)}");
        Log($"{requests.Count} operator requests, every one allowed by the chart's RBAC");
        return requests.Count;
    }

    /// <summary>The Deployment's container environment as the kubelet sets it: values, and fieldRefs to the pod's namespace and name.</summary>
    private static IEnumerable<(string Name, string Value)> DeploymentEnvironment(JsonObject deployment, string podName) =>
        deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray().Select(item => ((string)item!["name"]!,
            (string?)item["value"] ?? (string?)item["valueFrom"]!["fieldRef"]!["fieldPath"] switch
            {
                "metadata.namespace" => ReleaseNamespace,
                "metadata.name" => podName,
                var path => throw new InvalidOperationException($"unexpected fieldRef {path} in the chart's {item["name"]}"),
            }));

    /// <summary>The Kafka, or null when it does not exist (yet, or any more).</summary>
    public async Task<Kafka?> TryGetKafkaAsync()
    {
        try
        {
            return await Api.GetKafkaAsync(Cluster);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Waits until the operator has reconciled the Kafka's current generation and reports it Ready.</summary>
    public async Task<Kafka> WaitForKafkaReadyAsync(string why, TimeSpan? timeout = null)
    {
        Kafka? ready = null;
        await WaitUntilAsync(async () =>
        {
            var kafka = await TryGetKafkaAsync();
            var condition = kafka?.Status?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.Ready);
            if (condition?.Status == "True" && kafka!.Status!.ObservedGeneration == kafka.Metadata.Generation)
            {
                ready = kafka;
                return true;
            }

            return false;
        }, $"the Kafka is Ready ({why})", timeout);
        Log($"Kafka Ready ({why})");
        return ready!;
    }

    public async Task<IList<V1Pod>> ListPodsAsync(string? labelSelector = null) =>
        (await Client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: labelSelector)).Items;

    public async Task<V1Pod?> TryGetPodAsync(string name)
    {
        try
        {
            return await Client.CoreV1.ReadNamespacedPodAsync(name, Namespace);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static bool IsReady(V1Pod pod) => pod.Metadata.DeletionTimestamp is null
        && pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    /// <summary>Runs kcat (librdkafka) in a one-shot container on the cluster network.</summary>
    public Task<ProcessResult> KcatAsync(string? standardInput, params string[] arguments) =>
        Broker.KcatContainer.RunAsync(Network, standardInput, arguments);

    /// <summary>
    /// Produces "key:value" <paramref name="lines"/> with kcat through <paramref name="bootstrap"/>, retried for ten seconds:
    /// a topic auto-created just after the cluster became Ready may have no leader at the first metadata ("Unknown
    /// partition"). A retry may duplicate records; callers compare distinct ones. Fails with kcat's last answer.
    /// </summary>
    public async Task ProduceRetryingAsync(string bootstrap, string topic, string lines)
    {
        ProcessResult produced = null!;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            produced = await KcatAsync(lines, "-b", bootstrap, "-t", topic, "-P", "-K:");
            if (produced.ExitCode == 0)
            {
                return;
            }

            await Task.Delay(1000);
        }

        Assert.Fail($"kcat produce through {bootstrap} failed: {produced.Describe()}");
    }

    /// <summary>Runs the broker image's <c>kafka-broker</c> CLI (an admin tool) in a one-shot container on the cluster network.</summary>
    public async Task<ProcessResult> CliAsync(params string[] arguments)
    {
        string[] docker =
        [
            "run", "--rm", "--network", Network,
            .. E2EDocker.Labels.SelectMany(l => new[] { "--label", $"{l.Key}={l.Value}" }),
            E2EDocker.BrokerImage, .. arguments,
        ];
        return await ProcessRunner.RunAsync("docker", docker, CliTimeout);
    }

    /// <summary>Where <see cref="CliWithFileAsync"/> mounts its input file in the CLI container.</summary>
    public const string InputFile = "/tmp/e2e-input.json";

    /// <summary>As <see cref="CliAsync"/>, with <paramref name="content"/> mounted read-only at <see cref="InputFile"/> (a tool's JSON input).</summary>
    public async Task<ProcessResult> CliWithFileAsync(string content, params string[] arguments)
    {
        var file = Path.Combine(Path.GetTempPath(), $"e2e-input-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, content);
        try
        {
            // The image runs as uid 1001; a temp file is private to its creator.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            string[] docker =
            [
                "run", "--rm", "--network", Network, "-v", $"{file}:{InputFile}:ro",
                .. E2EDocker.Labels.SelectMany(l => new[] { "--label", $"{l.Key}={l.Value}" }),
                E2EDocker.BrokerImage, .. arguments,
            ];
            return await ProcessRunner.RunAsync("docker", docker, CliTimeout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Runs <paramref name="script"/> with /bin/sh in a pod's kafka container.</summary>
    public async Task<ProcessResult> ExecAsync(string pod, string script, string container = "kafka")
    {
        var id = Runner.ContainerId(Namespace, pod, container) ?? throw new InvalidOperationException($"pod {pod} has no running container {container}");
        return await ProcessRunner.RunAsync("docker", ["exec", id, "/bin/sh", "-c", script], TimeSpan.FromSeconds(30));
    }

    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException)
            {
                last = e;
            }

            if (deadline.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:F0} s waiting until {what} (last error: {last?.Message ?? "none"}).{Environment.NewLine}{await DiagnosticsAsync()}");
            }

            await Task.Delay(500);
        }
    }

    public void Log(string line) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1} s] {line}");

    /// <summary>The Kafka's status, every pod's phase and readiness, the operator's log tail and each broker container's log tail.</summary>
    public async Task<string> DiagnosticsAsync()
    {
        var text = new StringBuilder();
        try
        {
            var kafka = await TryGetKafkaAsync();
            text.AppendLine(CultureInfo.InvariantCulture, $"Kafka status: {KubernetesJson.Serialize(kafka?.Status)}");
            foreach (var pod in await ListPodsAsync())
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"pod {pod.Metadata.Name} uid {pod.Metadata.Uid} phase {pod.Status?.Phase} ready {IsReady(pod)} "
                    + $"deleting {pod.Metadata.DeletionTimestamp is not null} restarts {pod.Status?.ContainerStatuses?.Sum(c => c.RestartCount) ?? 0}");
                if (Runner.ContainerId(Namespace, pod.Metadata.Name, "kafka") is { } id)
                {
                    var logs = await ProcessRunner.RunAsync("docker", ["logs", "--tail", "25", id], TimeSpan.FromSeconds(30));
                    text.AppendLine(CultureInfo.InvariantCulture, $"--- {pod.Metadata.Name} log tail ---{Environment.NewLine}{logs.StandardOutput}{logs.StandardError}");
                }
            }

            var (stdout, stderr) = await Operator.GetLogsAsync(timestampsEnabled: false);
            var lines = (stdout + stderr).Split('\n');
            text.AppendLine(CultureInfo.InvariantCulture, $"--- operator log tail ---{Environment.NewLine}{string.Join('\n', lines.TakeLast(60))}");
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or InvalidOperationException)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"(diagnostics incomplete: {e.Message})");
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (Operator is not null)
        {
            await Operator.DisposeAsync();
        }

        if (Runner is not null)
        {
            await Runner.DisposeAsync();
        }

        await Api.DisposeAsync();
        _loggers.Dispose();
    }

    /// <summary>Forwards lines to whichever test output is current (none between tests). Thread-safe.</summary>
    private sealed class SwitchableOutput : ITestOutputHelper
    {
        private volatile ITestOutputHelper? _target;

        public ITestOutputHelper? Target
        {
            get => _target;
            set => _target = value;
        }

        public void WriteLine(string message) => TestOutput.TryWriteLine(_target, message);

        public void WriteLine(string format, params object[] args) => TestOutput.TryWriteLine(_target, string.Format(CultureInfo.InvariantCulture, format, args));
    }
}
