using System.Globalization;
using System.Net;

namespace Broker.Cluster.Network;

/// <summary>Kafka's <c>host:port</c> addresses (bootstrap servers, advertised listeners) as endpoints. Stateless; thread-safe.</summary>
public static class KafkaEndpoint
{
    /// <summary>
    /// Parses <c>host:port</c>, the host an IP address (IPv6 optionally in brackets) or a DNS name; false when the port is
    /// missing or not 1-65535.
    /// </summary>
    public static bool TryParse(string raw, out EndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(raw);
        endpoint = null!;
        var colon = raw.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(raw.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
        {
            return false;
        }

        var host = raw[..colon].Trim('[', ']');
        endpoint = IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port);
        return true;
    }
}
