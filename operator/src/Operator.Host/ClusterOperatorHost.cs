using System.Globalization;
using System.Net;
using k8s;
using Microsoft.Extensions.Logging;
using Operator.Certificates;
using Operator.Kube;
using Operator.Reconcilers;

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

        var healthPort = int.Parse(env("STRIMZI_HEALTH_PORT") ?? "8080", CultureInfo.InvariantCulture);
        using var health = healthPort > 0 ? StartHealth(healthPort) : null;
        var healthLoop = health is null ? Task.CompletedTask : ServeHealthAsync(health, cancellationToken);

        LogStarting(logger, allNamespaces ? "*" : string.Join(",", namespaces), operatorNamespace);
        await election.RunAsync(async leading =>
        {
            string?[] watched = allNamespaces ? [null] : [.. namespaces];
            var operators = watched.Select(ns => new ClusterOperator(client, new ClusterOperatorOptions(ns)
            {
                Kafka = new KafkaReconcilerOptions
                {
                    Image = env("STRIMZI_KAFKA_IMAGE") ?? new KafkaReconcilerOptions().Image,
                    Certificates = certificates ?? new CertificateOptions(),
                },
            }, TimeProvider.System, new Random(), loggers)).ToList();
            try
            {
                await Task.WhenAll(operators.Select(o => o.RunAsync(leading))).ConfigureAwait(false);
            }
            finally
            {
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

    /// <summary>/healthy and /ready answer 200 while the process runs (Strimzi's probes); anything else is 404.</summary>
    private static async Task ServeHealthAsync(HttpListener listener, CancellationToken cancellationToken)
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

            context.Response.StatusCode = context.Request.Url?.AbsolutePath is "/healthy" or "/ready" ? 200 : 404;
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
}
