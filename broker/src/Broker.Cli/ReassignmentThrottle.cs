using System.Globalization;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol.Messages;

namespace Broker.Cli;

/// <summary>
/// <c>reassign-partitions --execute --throttle</c> and its clean-up in <c>--verify</c>, as Kafka's tool does it: the moving
/// partitions' current replicas are leader-throttled and their new replicas follower-throttled (topic configs
/// <c>leader/follower.replication.throttled.replicas</c>), and every broker taking part gets the rate
/// (<c>leader/follower.replication.throttled.rate</c>); <c>--verify</c> removes all of it once nothing of the plan is
/// moving. Stateless; thread-safe.
/// </summary>
internal static class ReassignmentThrottle
{
    private static readonly string[] RateKeys = ["leader.replication.throttled.rate", "follower.replication.throttled.rate"];
    private static readonly string[] ReplicaKeys = ["leader.replication.throttled.replicas", "follower.replication.throttled.replicas"];

    /// <exception cref="AdminException">A broker or the controller refused a config.</exception>
    public static async Task SetAsync(AdminClient client, IReadOnlyList<PartitionTarget> plan,
        IReadOnlyDictionary<(string Topic, int Partition), IReadOnlyList<int>> current, long rate, TextWriter output, CancellationToken ct)
    {
        await output.WriteLineAsync("Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.")
            .ConfigureAwait(false);
        var topics = new IncrementalAlterConfigsRequest { ValidateOnly = false };
        foreach (var group in plan.GroupBy(p => p.Topic, StringComparer.Ordinal))
        {
            // Sources send (leader side), new replicas receive (follower side); "partition:broker" pairs, sorted as text.
            var leaders = new SortedSet<string>(StringComparer.Ordinal);
            var followers = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var target in group)
            {
                var sources = current[(target.Topic, target.Partition)];
                leaders.UnionWith(sources.Select(b => Pair(target.Partition, b)));
                followers.UnionWith(target.Replicas.Where(b => !sources.Contains(b)).Select(b => Pair(target.Partition, b)));
            }

            var resource = new IncrementalAlterConfigsRequest.AlterConfigsResource { ResourceType = MetadataImageBuilder.TopicResource, ResourceName = group.Key };
            foreach (var (key, pairs) in new[] { (ReplicaKeys[0], leaders), (ReplicaKeys[1], followers) }.Where(k => k.Item2.Count > 0))
            {
                resource.Configs.Add(new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, ConfigOperation = (sbyte)ConfigOperation.Set, Value = string.Join(",", pairs) });
            }

            topics.Resources.Add(resource);
        }

        Check(await client.SendAsync<IncrementalAlterConfigsResponse>(topics, 1, ct).ConfigureAwait(false));
        var brokers = plan.SelectMany(p => current[(p.Topic, p.Partition)].Concat(p.Replicas)).Distinct().Order();
        foreach (var broker in brokers)
        {
            await AlterBrokerAsync(client, broker, ConfigOperation.Set, rate.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
        }

        await output.WriteLineAsync($"The inter-broker throttle limit was set to {rate.ToString(CultureInfo.InvariantCulture)} B/s").ConfigureAwait(false);
    }

    /// <summary>Removes the rates from every broker of the cluster and the replica lists from <paramref name="topics"/>.</summary>
    /// <exception cref="AdminException">A broker or the controller refused.</exception>
    public static async Task ClearAsync(AdminClient client, IReadOnlyCollection<string> topics, TextWriter output, CancellationToken ct)
    {
        var brokers = (await client.MetadataAsync([], ct).ConfigureAwait(false)).Brokers.Select(b => b.NodeId).Order().ToList();
        await output.WriteLineAsync($"Clearing broker-level throttles on broker{(brokers.Count == 1 ? "" : "s")} {string.Join(",", brokers)}").ConfigureAwait(false);
        foreach (var broker in brokers)
        {
            await AlterBrokerAsync(client, broker, ConfigOperation.Delete, null, ct).ConfigureAwait(false);
        }

        await output.WriteLineAsync($"Clearing topic-level throttles on topic{(topics.Count == 1 ? "" : "s")} {string.Join(",", topics)}").ConfigureAwait(false);
        var request = new IncrementalAlterConfigsRequest { ValidateOnly = false };
        foreach (var topic in topics)
        {
            request.Resources.Add(new IncrementalAlterConfigsRequest.AlterConfigsResource
            {
                ResourceType = MetadataImageBuilder.TopicResource,
                ResourceName = topic,
                Configs = [.. ReplicaKeys.Select(k => new IncrementalAlterConfigsRequest.AlterableConfig { Name = k, ConfigOperation = (sbyte)ConfigOperation.Delete, Value = null })],
            });
        }

        Check(await client.SendAsync<IncrementalAlterConfigsResponse>(request, 1, ct).ConfigureAwait(false));
    }

    private static async Task AlterBrokerAsync(AdminClient client, int broker, ConfigOperation operation, string? value, CancellationToken ct)
    {
        var request = new IncrementalAlterConfigsRequest
        {
            ValidateOnly = false,
            Resources =
            [
                new IncrementalAlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = MetadataImageBuilder.BrokerResource,
                    ResourceName = broker.ToString(CultureInfo.InvariantCulture),
                    Configs = [.. RateKeys.Select(k => new IncrementalAlterConfigsRequest.AlterableConfig { Name = k, ConfigOperation = (sbyte)operation, Value = value })],
                },
            ],
        };
        Check(await client.SendToBrokerAsync<IncrementalAlterConfigsResponse>(broker, request, 1, ct).ConfigureAwait(false));
    }

    private static void Check(IncrementalAlterConfigsResponse response)
    {
        if (response.Responses.FirstOrDefault(r => r.ErrorCode != 0) is { } failed)
        {
            var what = failed.ResourceType == MetadataImageBuilder.BrokerResource ? $"broker {failed.ResourceName}" : $"topic {failed.ResourceName}";
            throw new AdminException($"cannot change the throttle of {what}: {AdminClient.ErrorText(failed.ErrorCode, failed.ErrorMessage)}");
        }
    }

    private static string Pair(int partition, int broker) =>
        $"{partition.ToString(CultureInfo.InvariantCulture)}:{broker.ToString(CultureInfo.InvariantCulture)}";
}
