using System.Globalization;
using System.Net;
using Broker.Cluster.Network;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Microsoft.Extensions.Logging.Abstractions;

namespace Operator.Reconcilers;

/// <summary>What the Kafka reconcile asks of a running cluster over the Kafka protocol (Strimzi's Admin client calls).</summary>
public interface IClusterAdmin
{
    /// <summary>
    /// Ids of the brokers that hold at least one partition replica of any topic, internal ones included (Strimzi's
    /// <c>BrokersInUseCheck</c>).
    /// </summary>
    /// <exception cref="ClusterAdminException">The cluster did not answer, or answered with an error.</exception>
    Task<IReadOnlySet<int>> BrokersInUseAsync(string ns, string cluster, CancellationToken cancellationToken);
}

/// <summary>A cluster the operator could not ask; its message says which address and why.</summary>
public sealed class ClusterAdminException : Exception
{
    public ClusterAdminException(string message)
        : base(message)
    {
    }

    public ClusterAdminException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// <see cref="IClusterAdmin"/> over the broker project's own Kafka client: one connection per call to the cluster's
/// bootstrap address, by default the replication listener of Strimzi's bootstrap Service
/// (<c>&lt;cluster&gt;-kafka-bootstrap.&lt;namespace&gt;.svc:9091</c>), which the cluster's NetworkPolicy opens to the
/// operator. Stateless; thread-safe.
/// </summary>
public sealed class KafkaProtocolAdmin : IClusterAdmin
{
    public const int ReplicationPort = 9091;
    private const short MetadataVersion = 12;

    private readonly Func<string, string, string> _bootstrap;
    private readonly TimeSpan _timeout;

    /// <param name="bootstrap">host:port of a cluster, from its namespace and name; null for Strimzi's bootstrap Service.</param>
    /// <param name="timeout">How long one call may take, connecting included.</param>
    public KafkaProtocolAdmin(Func<string, string, string>? bootstrap, TimeSpan timeout)
    {
        _bootstrap = bootstrap ?? DefaultBootstrap;
        _timeout = timeout;
    }

    public static string DefaultBootstrap(string ns, string cluster) =>
        string.Create(CultureInfo.InvariantCulture, $"{cluster}-kafka-bootstrap.{ns}.svc:{ReplicationPort}");

    public async Task<IReadOnlySet<int>> BrokersInUseAsync(string ns, string cluster, CancellationToken cancellationToken)
    {
        var address = _bootstrap(ns, cluster);
        var request = new MetadataRequest { Topics = null, AllowAutoTopicCreation = false };
        var metadata = await SendAsync<MetadataResponse>(address, request, MetadataVersion, cancellationToken).ConfigureAwait(false);
        var inUse = new SortedSet<int>();
        foreach (var topic in metadata.Topics)
        {
            if (topic.ErrorCode != 0)
            {
                throw new ClusterAdminException($"{address}: describing topic {topic.Name} failed with {(ErrorCode)topic.ErrorCode}");
            }

            foreach (var partition in topic.Partitions)
            {
                inUse.UnionWith(partition.ReplicaNodes);
            }
        }

        return inUse;
    }

    private async Task<TResponse> SendAsync<TResponse>(string address, IApiMessage request, short version, CancellationToken cancellationToken)
        where TResponse : IApiMessage, new()
    {
        var endpoint = ParseEndpoint(address);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        var timeoutMs = (int)_timeout.TotalMilliseconds;
        var connection = new KafkaClientConnection(() => endpoint, new KafkaClientOptions("strimzi-cluster-operator", timeoutMs), TimeProvider.System,
            new Random(), NullLogger.Instance);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                using var response = await connection.SendAsync<TResponse>(request, version, timeout.Token).ConfigureAwait(false);
                return response.Message;
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new ClusterAdminException($"{address}: no answer within {timeoutMs} ms");
            }
            catch (Exception e) when (e is KafkaConnectionException or IOException or TimeoutException or System.Net.Sockets.SocketException or KafkaProtocolException)
            {
                throw new ClusterAdminException($"{address}: {e.Message}", e);
            }
        }
    }

    private static EndPoint ParseEndpoint(string address) =>
        KafkaEndpoint.TryParse(address, out var endpoint) ? endpoint : throw new ClusterAdminException($"'{address}' is not host:port");
}
