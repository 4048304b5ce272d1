using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Protocol.Tests.Messages;

public sealed class ApiMessageTypesTests
{
    [Theory]
    [InlineData(ApiKey.Produce, 8, 1, 0)]
    [InlineData(ApiKey.Produce, 9, 2, 1)]
    [InlineData(ApiKey.Metadata, 12, 2, 1)]
    [InlineData(ApiKey.ApiVersions, 2, 1, 0)]
    [InlineData(ApiKey.ApiVersions, 3, 2, 0)]
    [InlineData(ApiKey.ControlledShutdown, 0, 0, 0)]
    [InlineData(ApiKey.ControlledShutdown, 1, 1, 0)]
    public void HeaderVersions_ForApiAndVersion_FollowFlexibleRules(ApiKey key, short version, short request, short response)
    {
        Assert.Equal(request, ApiMessageTypes.RequestHeaderVersion(key, version));
        Assert.Equal(response, ApiMessageTypes.ResponseHeaderVersion(key, version));
    }

    [Fact]
    public void Table_EveryApi_FactoriesAndRangesMatchGeneratedClasses()
    {
        Assert.NotEmpty(ApiMessageTypes.All);
        foreach (var api in ApiMessageTypes.All)
        {
            Assert.True(ApiMessageTypes.TryGet((short)api.Key, out var same));
            Assert.Same(api, same);
            var request = api.CreateRequest();
            var response = api.CreateResponse();
            Assert.Equal((short)api.Key, request.ApiKeyValue);
            Assert.Equal((short)api.Key, response.ApiKeyValue);
            Assert.Equal(api.Name + "Request", request.GetType().Name);
            Assert.Equal(api.LowestSupportedVersion, request.LowestVersion);
            Assert.Equal(api.HighestSupportedVersion, request.HighestVersion);
            Assert.Equal(api.IsRequestFlexible(api.HighestSupportedVersion), request.IsFlexibleVersion(api.HighestSupportedVersion));
        }
    }

    [Fact]
    public void Table_Lookups_KnownAndUnknownKeys()
    {
        Assert.Equal("Produce", ApiMessageTypes.Get(ApiKey.Produce).Name);
        Assert.Equal(11, ApiMessageTypes.Get(ApiKey.Produce).HighestSupportedVersion);
        Assert.False(ApiMessageTypes.TryGet(-1, out _));
        Assert.False(ApiMessageTypes.TryGet(short.MaxValue, out _));
        Assert.Equal(ProduceRequest.ApiKey, (short)ApiKey.Produce);
        Assert.Equal(FetchResponse.HighestSupportedVersion, ApiMessageTypes.Get(ApiKey.Fetch).HighestSupportedVersion);
    }

    [Fact]
    public void Listeners_ControllerOnlyApis_LackBrokerListener()
    {
        Assert.Equal(ApiListeners.Controller, ApiMessageTypes.Get(ApiKey.Vote).Listeners);
        Assert.True(ApiMessageTypes.Get(ApiKey.Produce).Listeners.HasFlag(ApiListeners.Broker));
        Assert.True(ApiMessageTypes.Get(ApiKey.ApiVersions).Listeners.HasFlag(ApiListeners.Controller));
    }

    [Fact]
    public void MetadataRecordTypes_TopicRecord_CreatesByType()
    {
        Assert.True(MetadataRecordTypes.TryCreate(2, out var record));
        Assert.IsType<TopicRecord>(record);
        Assert.Equal(TopicRecord.ApiKey, ((IApiMessage)record).ApiKeyValue);
        Assert.False(MetadataRecordTypes.TryCreate(-5, out _));
        Assert.Equal(PartitionRecord.HighestSupportedVersion, MetadataRecordTypes.HighestSupportedVersion(MetadataRecordType.PartitionRecord));
    }
}
