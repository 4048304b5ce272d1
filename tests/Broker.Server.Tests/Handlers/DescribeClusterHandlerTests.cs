using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Tests.Handlers;

public sealed class DescribeClusterHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private async Task<DescribeClusterResponse> DescribeAsync(sbyte endpointType, ApiListeners listener = ApiListeners.Broker)
    {
        var body = await _harness.CallAsync(60, 1, new DescribeClusterRequest { EndpointType = endpointType }, listener);
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

    [Fact]
    public async Task Describe_BrokerEndpointsOnControllerListener_MismatchedEndpointType()
    {
        var response = await DescribeAsync(1, ApiListeners.Controller);

        Assert.Equal((short)ErrorCode.MismatchedEndpointType, response.ErrorCode);
        Assert.Contains("type CONTROLLER", response.ErrorMessage);
        Assert.Empty(response.Brokers);
    }

    [Fact]
    public async Task ApiVersions_ControllerListener_OnlyApisWhoseSchemaListsTheController()
    {
        var controller = await ApiKeysAsync(ApiListeners.Controller);
        var broker = await ApiKeysAsync(ApiListeners.Broker);

        Assert.Contains(ApiKey.DescribeConfigs, controller);
        Assert.Contains(ApiKey.DescribeCluster, controller);
        Assert.DoesNotContain(ApiKey.Produce, controller);
        Assert.DoesNotContain(ApiKey.Metadata, controller);
        Assert.DoesNotContain(ApiKey.FindCoordinator, controller);
        Assert.Contains(ApiKey.Produce, broker);
        Assert.Contains(ApiKey.DescribeConfigs, broker);
        Assert.All(controller, key => Assert.True((ApiMessageTypes.Get(key).Listeners & ApiListeners.Controller) != 0, $"{key} on a controller listener"));
        Assert.All(broker, key => Assert.True((ApiMessageTypes.Get(key).Listeners & ApiListeners.Broker) != 0, $"{key} on a broker listener"));
    }

    private async Task<HashSet<ApiKey>> ApiKeysAsync(ApiListeners listener)
    {
        var body = await _harness.CallAsync(18, 3, new ApiVersionsRequest { ClientSoftwareName = "harness", ClientSoftwareVersion = "1" }, listener);
        var response = new ApiVersionsResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 3);
        Assert.Equal(0, response.ErrorCode);
        return response.ApiKeys.Select(k => (ApiKey)k.ApiKey).ToHashSet();
    }

    [Fact]
    public async Task Metadata_V10WithAuthorizedOperations_KafkaClusterAndTopicOperationSets()
    {
        var request = new MetadataRequest
        {
            Topics = [],
            AllowAutoTopicCreation = false,
            IncludeClusterAuthorizedOperations = true,
            IncludeTopicAuthorizedOperations = true,
        };

        var body = await _harness.CallAsync(3, 10, request);

        var response = new MetadataResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 10);

        // CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
        Assert.Equal(0b1_1111_1010_0000, response.ClusterAuthorizedOperations);
    }
}
