using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Tests.Handlers;

public sealed class DescribeClusterHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private async Task<DescribeClusterResponse> DescribeAsync(sbyte endpointType)
    {
        var body = await _harness.CallAsync(60, 1, new DescribeClusterRequest { EndpointType = endpointType });
        var response = new DescribeClusterResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 1);
        return response;
    }

    [Fact]
    public async Task Describe_BrokerEndpoints_ListsThisBroker()
    {
        var response = await DescribeAsync(1);

        Assert.Equal(0, response.ErrorCode);
        Assert.Equal(_harness.Image.ClusterId, response.ClusterId);
        var broker = Assert.Single(response.Brokers);
        Assert.Equal((1, "127.0.0.1", 9092), (broker.BrokerId, broker.Host, broker.Port));
    }

    [Theory]
    [InlineData(2, ErrorCode.MismatchedEndpointType)]
    [InlineData(7, ErrorCode.UnsupportedEndpointType)]
    public async Task Describe_OtherEndpointTypes_KafkaErrors(sbyte endpointType, ErrorCode expected)
    {
        var response = await DescribeAsync(endpointType);

        Assert.Equal((short)expected, response.ErrorCode);
        Assert.Empty(response.Brokers);
    }
}
