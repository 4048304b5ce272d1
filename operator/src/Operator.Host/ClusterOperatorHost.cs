using System.Globalization;
using System.Net;
using k8s;
using Microsoft.Extensions.Logging;
using Operator.Certificates;
using Operator.Kube;
using Operator.Reconcilers;
using Prometheus;

namespace Operator.Host;

/// <summary>
/// The cluster operator process: configuration from Strimzi's environment variables, a client from KUBECONFIG or the
/// in-cluster service account, the informers and Kafka controller of each watched namespace run under Lease leader
/// election, and /healthy and /ready on the health port. Returns the exit code once cancelled (SIGTERM).
/// </summary>
public static partial class ClusterOperatorHost
{
    private const string ServiceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    /// <param name="env">Environment lookup (the process's, or a test's).</param>
    /// <param name="certificates">Certificate settings; null for the defaults (4096-bit keys). Tests pass smaller keys.</param>
    public static async Task<int> RunAsync(Func<string, string?> env, ILoggerFactory loggers, CancellationToken cancellationToken,
        CertificateOptions? certificates = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(loggers);
        var logger = loggers.CreateLogger("ClusterOperator");
        var namespaces = (env("STRIMZI_NAMESPACE") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (namespaces.Length == 0)
        {
            LogBadNamespace(logger, env("STRIMZI_NAMESPACE") ?? "");
            return 2;
        }

        // "*" (alone or in a list, as Strimzi reads it) watches every namespace through one set of cluster-wide informers.
        var allNamespaces = namespaces.Contains("*");

        var kubeconfig = env("KUBECONFIG");
        if (string.IsNullOrEmpty(kubeconfig) && !KubernetesClientConfiguration.IsInCluster()
            && !File.Exists(KubernetesClientConfiguration.KubeConfigDefaultLocation))
        {
            // KubernetesClient would fall back to http://localhost:8080 and retry forever; refuse clearly instead.
            LogNoCluster(logger, "in-cluster configuration or kubeconfig", "no service account and no " + KubernetesClientConfiguration.KubeConfigDefaultLocation);
            return 1;
        }

        KubernetesClientConfiguration config;
        try
        {
            config = string.IsNullOrEmpty(kubeconfig)
                ? KubernetesClientConfiguration.BuildDefaultConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException)
        {
            // Neither a usable kubeconfig nor an in-cluster service account: say so instead of crashing.
            LogNoCluster(logger, string.IsNullOrEmpty(kubeconfig) ? "in-cluster configuration" : "KUBECONFIG " + kubeconfig, e.Message);
            return 1;
        }

        using var client = new Kubernetes(config);

        var operatorNamespace = env("STRIMZI_LEADER_ELECTION_LEASE_NAMESPACE") ?? env("STRIMZI_OPERATOR_NAMESPACE")
            ?? (File.Exists(ServiceAccountNamespaceFile) ? (await File.ReadAllTextAsync(ServiceAccountNamespaceFile, cancellationToken).ConfigureAwait(false)).Trim()
                : allNamespaces ? "default" : namespaces[0]);
        var election = new LeaderElection(client, new LeaderElectionOptions(
            operatorNamespace,
            env("STRIMZI_LEADER_ELECTION_LEASE_NAME") ?? "strimzi-cluster-operator",
            env("STRIMZI_LEADER_ELECTION_IDENTITY") ?? env("HOSTNAME") ?? Environment.MachineName + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)),
            loggers.CreateLogger<LeaderElection>());

        var metrics = new OperatorMetrics(Metrics.NewCustomRegistry(), TimeProvider.System);
        var resources = new ResourceGauge(metrics);
        var healthPort = int.Parse(env("STRIMZI_HEALTH_PORT") ?? "8080", CultureInfo.InvariantCulture);
        using var health = healthPort > 0 ? StartHealth(healthPort) : null;
        var healthLoop = health is null ? Task.CompletedTask : ServeHealthAsync(health, metrics.Registry, cancellationToken);

        LogStarting(logger, allNamespaces ? "*" : string.Join(",", namespaces), operatorNamespace);

        // Strimzi's STRIMZI_LEADER_ELECTION_ENABLED=false runs a single replica without a Lease.
        var electLeader = !string.Equals(env("STRIMZI_LEADER_ELECTION_ENABLED"), "false", StringComparison.OrdinalIgnoreCase);
        Func<Func<CancellationToken, Task>, CancellationToken, Task> run = electLeader
            ? election.RunAsync
            : static async (work, token) =>
            {
                try
                {
                    await work(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    // Shutdown, as when a leader's lease work is cancelled.
                }
            };
        await run(async leading =>
        {
            string?[] watched = allNamespaces ? [null] : [.. namespaces];
            var operators = watched.Select(ns => new ClusterOperator(client, new ClusterOperatorOptions(ns)
            {
                Kafka = new KafkaReconcilerOptions
                {
                    Image = env("STRIMZI_KAFKA_IMAGE") ?? new KafkaReconcilerOptions().Image,
                    Certificates = certificates ?? new CertificateOptions(),
                },
            }, TimeProvider.System, new Random(), loggers, metrics)).ToList();
            resources.Operators = operators;
            try
            {
                await Task.WhenAll(operators.Select(o => o.RunAsync(leading))).ConfigureAwait(false);
            }
            finally
            {
                resources.Operators = [];
                operators.ForEach(o => o.Dispose());
            }
        }, cancellationToken).ConfigureAwait(false);

        health?.Stop();
        await healthLoop.ConfigureAwait(false);
        LogStopped(logger);
        return 0;
    }

    private static HttpListener StartHealth(int port)
    {
        var listener = new HttpListener();
        listener.Prefixes.Add(string.Create(CultureInfo.InvariantCulture, $"http://*:{port}/"));
        listener.Start();
        return listener;
    }

    /// <summary>
    /// /healthy and /ready answer 200 while the process runs (Strimzi's probes), /metrics the Prometheus text of the
    /// operator's registry (Strimzi serves its metrics on the same port); anything else is 404.
    /// </summary>
    private static async Task ServeHealthAsync(HttpListener listener, CollectorRegistry registry, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            var path = context.Request.Url?.AbsolutePath;
            if (path is "/metrics")
            {
                try
                {
                    context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await registry.CollectAndExportAsTextAsync(context.Response.OutputStream, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpListenerException or IOException)
                {
                    // The scraper went away or we are stopping.
                }
            }
            else
            {
                context.Response.StatusCode = path is "/healthy" or "/ready" ? 200 : 404;
            }

            context.Response.Close();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "STRIMZI_NAMESPACE must name one or more namespaces (comma-separated) or * for all; '{Value}' names none")]
    private static partial void LogBadNamespace(ILogger logger, string value);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster operator starting for namespaces {Namespaces}; lease in {LeaseNamespace}")]
    private static partial void LogStarting(ILogger logger, string namespaces, string leaseNamespace);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster operator stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cannot reach the Kubernetes API: no usable {Source} ({Reason})")]
    private static partial void LogNoCluster(ILogger logger, string source, string reason);

    /// <summary>
    /// <c>strimzi_resources{kind="Kafka"}</c> at scrape time from the running operators' Kafka caches; a namespace seen
    /// once stays in the gauge (at 0 when its last Kafka goes). Thread-safe: scrapes serialize on the lock.
    /// </summary>
    private sealed class ResourceGauge
    {
        private readonly OperatorMetrics _metrics;
        private readonly HashSet<string> _namespaces = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();
        private volatile IReadOnlyList<ClusterOperator> _operators = [];

        public ResourceGauge(OperatorMetrics metrics)
        {
            _metrics = metrics;
            metrics.Registry.AddBeforeCollectCallback(Update);
        }

        /// <summary>The operators running now (empty while not leading).</summary>
        public IReadOnlyList<ClusterOperator> Operators
        {
            get => _operators;
            set => _operators = value;
        }

        private void Update()
        {
            var counts = Operators.SelectMany(o => o.Caches.Kafkas.Items())
                .GroupBy(k => k.Metadata.NamespaceProperty, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            lock (_lock)
            {
                _namespaces.UnionWith(counts.Keys);
                foreach (var ns in _namespaces)
                {
                    _metrics.SetResources("Kafka", ns, counts.GetValueOrDefault(ns));
                }
            }
        }
    }
}
