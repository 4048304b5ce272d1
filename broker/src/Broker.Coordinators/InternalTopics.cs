using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;

namespace Broker.Coordinators;

/// <summary>
/// The coordinators' internal topics (<c>__consumer_offsets</c>, <c>__transaction_state</c>) are created through the
/// controller on first use, as Kafka's coordinators do; until then callers answer COORDINATOR_NOT_AVAILABLE.
/// Stateless; thread-safe.
/// </summary>
internal static class InternalTopics
{
    /// <summary>
    /// True when the topic exists; otherwise asks the controller to create the topic <paramref name="definition"/>
    /// describes (built only then) and returns false.
    /// </summary>
    public static async Task<bool> EnsureAsync(IMetadataStore metadata, TopicController topics, string name, Func<NewTopic> definition,
        CancellationToken cancellationToken)
    {
        if (metadata.Image.TopicsByName.ContainsKey(name))
        {
            return true;
        }

        await topics.CreateTopicsAsync([definition()], false, cancellationToken).ConfigureAwait(false);
        return false;
    }
}
