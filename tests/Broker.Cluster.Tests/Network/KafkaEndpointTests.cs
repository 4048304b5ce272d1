using System.Net;
using Broker.Cluster.Network;

namespace Broker.Cluster.Tests.Network;

/// <summary>host:port as the admin tools and the operator give it: IP addresses, names, and what is not an address.</summary>
public sealed class KafkaEndpointTests
{
    [Theory]
    [InlineData("127.0.0.1:9092", "127.0.0.1", 9092)]
    [InlineData("[::1]:9093", "::1", 9093)]
    public void TryParse_IpAddress_IpEndPoint(string raw, string address, int port)
    {
        Assert.True(KafkaEndpoint.TryParse(raw, out var endpoint));

        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endpoint);
    }

    [Fact]
    public void TryParse_HostName_DnsEndPoint()
    {
        Assert.True(KafkaEndpoint.TryParse("my-cluster-kafka-bootstrap.myproject.svc:9091", out var endpoint));

        var dns = Assert.IsType<DnsEndPoint>(endpoint);
        Assert.Equal("my-cluster-kafka-bootstrap.myproject.svc", dns.Host);
        Assert.Equal(9091, dns.Port);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData(":9092")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:port")]
    [InlineData("host:-1")]
    public void TryParse_NotHostPort_False(string raw)
    {
        Assert.False(KafkaEndpoint.TryParse(raw, out _));
    }
}
