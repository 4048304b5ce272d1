using System.Net;
using Broker.Cluster.Metadata;

namespace Broker.Cluster.Network;

/// <summary>
/// Where to reach another broker: its registered endpoint for the inter-broker listener (inter.broker.listener.name),
/// else its first registered endpoint, read from the current metadata image on every call. Thread-safe.
/// </summary>
public sealed class BrokerEndpointResolver
{
    private readonly Func<MetadataImage> _image;
    private readonly string? _listenerName;

    public BrokerEndpointResolver(Func<MetadataImage> image, string? listenerName)
    {
        _image = image;
        _listenerName = listenerName;
    }

    /// <summary>The broker's endpoint, or null when it is not registered (or registered without endpoints).</summary>
    public EndPoint? Resolve(int nodeId)
    {
        if (!_image().Brokers.TryGetValue(nodeId, out var broker) || broker.Endpoints.IsDefaultOrEmpty)
        {
            return null;
        }

        var endpoint = (_listenerName is null ? null : broker.EndpointFor(_listenerName)) ?? broker.Endpoints[0];
        return IPAddress.TryParse(endpoint.Host, out var address)
            ? new IPEndPoint(address, endpoint.Port)
            : new DnsEndPoint(endpoint.Host, endpoint.Port);
    }
}
