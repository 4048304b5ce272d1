using System.Net;
using Broker.Cluster.Network;
using Broker.Protocol.Messages;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// Single requests over a fresh <see cref="KafkaClientConnection"/>, for APIs the client libraries do not expose
/// (DescribeQuorum, AlterPartitionReassignments ...) or requests a test wants to shape itself. Thread-safe.
/// </summary>
internal static class KafkaRequests
{
    /// <summary>Sends <paramref name="request"/> and returns the decoded response (fields only: record slices die with the connection).</summary>
    public static async Task<TResponse> SendAsync<TResponse>(EndPoint endPoint, IApiMessage request, short version, int requestTimeoutMs = 30_000)
        where TResponse : IApiMessage, new()
    {
        await using var connection = new KafkaClientConnection(
            () => endPoint,
            new KafkaClientOptions("integration-test", RequestTimeoutMs: requestTimeoutMs),
            TimeProvider.System,
            new Random(0),
            NullLogger.Instance);
        using var response = await connection.SendAsync<TResponse>(request, version, CancellationToken.None);
        return response.Message;
    }

    /// <summary>DescribeQuorum (v1) of <c>__cluster_metadata-0</c> to a controller listener.</summary>
    public static Task<DescribeQuorumResponse> DescribeQuorumAsync(EndPoint controllerEndPoint) =>
        SendAsync<DescribeQuorumResponse>(
            controllerEndPoint,
            new DescribeQuorumRequest
            {
                Topics = [new DescribeQuorumRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
            },
            1,
            10_000);
}
