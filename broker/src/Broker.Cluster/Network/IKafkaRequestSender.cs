using Broker.Protocol.Messages;

namespace Broker.Cluster.Network;

/// <summary>
/// Sends requests to one other node and returns its responses: a <see cref="KafkaClientConnection"/> on a socket, or a
/// simulated network in tests (replication, and the Raft binding later). Implementations are thread-safe.
/// </summary>
public interface IKafkaRequestSender : IAsyncDisposable
{
    /// <summary>Sends <paramref name="request"/> at <paramref name="version"/>; dispose the result when done with it.</summary>
    /// <exception cref="KafkaConnectionException">The request got no response (connection failure or timeout).</exception>
    Task<KafkaResponse<TResponse>> SendAsync<TResponse>(IApiMessage request, short version, CancellationToken cancellationToken)
        where TResponse : IApiMessage, new();
}
