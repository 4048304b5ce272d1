using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Tests.Handlers;

namespace Broker.Server.Tests.Raft;

/// <summary>
/// kraft.version, whose level lives in the Raft log rather than the image: ApiVersions on a broker listener lists it
/// among the finalized features only above level 0 (a dynamic quorum), as Kafka's brokers do (its controller listener
/// does not), and the controller checks a registration against it. One node each: a dynamic quorum formatted with --standalone (kraft.version 1) and a static one.
/// </summary>
public sealed class KRaftVersionFeatureTests : IDisposable
{
    private const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private static readonly TimeProvider Time = new FixedTime(DateTimeOffset.UnixEpoch.AddDays(20000));

    private static readonly (string Key, string Value)[] Controller =
    [
        ("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"),
        ("advertised.listeners", "PLAINTEXT://127.0.0.1:9092"),
        ("controller.listener.names", "CONTROLLER"),
    ];

    private readonly List<HandlerHarness> _harnesses = [];

    public void Dispose()
    {
        foreach (var harness in _harnesses)
        {
            harness.Dispose();
        }
    }

    /// <summary>A standalone controller of a dynamic quorum (Kafka 4's quickstart), with its bootstrap records committed.</summary>
    private HandlerHarness DynamicQuorum()
    {
        var harness = HandlerHarness.WithStorage(
            dir => StorageFormatter.Format(new StorageFormatOptions(ClusterId, 1, [dir], dir)
            {
                InitialControllers = [new InitialController(1, "127.0.0.1", 9093, Guid.Empty)],
            }, 1_700_000_000_000),
            Time,
            [.. Controller, ("controller.quorum.bootstrap.servers", "127.0.0.1:9093")]);
        _harnesses.Add(harness);
        Assert.Equal(1, harness.Components.Quorum!.Store.KRaftVersion);
        CommitBootstrap(harness);
        return harness;
    }

    private HandlerHarness StaticQuorum()
    {
        var harness = new HandlerHarness(Time, [.. Controller, ("controller.quorum.voters", "1@127.0.0.1:9093")]);
        _harnesses.Add(harness);
        Assert.Equal(0, harness.Components.Quorum!.Store.KRaftVersion);
        CommitBootstrap(harness);
        return harness;
    }

    // What the active controller's membership loop does first in KRaft mode; the harness runs no loop.
    private static void CommitBootstrap(HandlerHarness harness)
    {
        if (MetadataFeatures.BootstrapRecords(harness.Image) is { Count: > 0 } bootstrap)
        {
            harness.Components.Metadata.CommitAsync(bootstrap, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
    }

    private static async Task<TResponse> CallAsync<TResponse>(HandlerHarness harness, short apiKey, short version, IApiMessage request, ApiListeners? listener = null)
        where TResponse : IApiMessage, new()
    {
        var body = await harness.CallAsync(apiKey, version, request, listener);
        var response = new TResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        return response;
    }

    private static Task<ApiVersionsResponse> ApiVersionsAsync(HandlerHarness harness, short version, ApiListeners listener = ApiListeners.Broker) =>
        CallAsync<ApiVersionsResponse>(harness, 18, version, new ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1" }, listener);

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ApiVersions_DynamicQuorumAtKRaftVersion1_ListsItAmongTheFinalizedFeatures(short version)
    {
        var harness = DynamicQuorum();

        var response = await ApiVersionsAsync(harness, version);

        Assert.Equal(0, response.ErrorCode);
        Assert.Equal(
            [("kraft.version", (short)1, (short)1), ("metadata.version", MetadataFeatures.MetadataVersionLevel, MetadataFeatures.MetadataVersionLevel)],
            response.FinalizedFeatures.Select(f => (f.Name, f.MinVersionLevel, f.MaxVersionLevel)).Order());
        Assert.Equal(harness.Image.Offset, response.FinalizedFeaturesEpoch);
    }

    [Fact]
    public async Task ApiVersions_DynamicQuorumOnTheControllerListener_LeavesItOutAsKafkasControllerDoes()
    {
        var harness = DynamicQuorum();

        var response = await ApiVersionsAsync(harness, 4, ApiListeners.Controller);

        // Kafka's controller answers from the image alone; the supported range is what a quorum leader reads there.
        Assert.Equal("metadata.version", Assert.Single(response.FinalizedFeatures).Name);
        var supported = Assert.Single(response.SupportedFeatures, f => f.Name == "kraft.version");
        Assert.Equal(((short)0, (short)1), (supported.MinVersion, supported.MaxVersion));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ApiVersions_StaticQuorumAtKRaftVersion0_LeavesItOut(short version)
    {
        var harness = StaticQuorum();

        var response = await ApiVersionsAsync(harness, version);

        var finalized = Assert.Single(response.FinalizedFeatures);
        Assert.Equal("metadata.version", finalized.Name);
        // Its supported range is still reported from v4 (v3 omits ranges starting at 0).
        Assert.Equal(version >= 4, response.SupportedFeatures.Any(f => f.Name == "kraft.version"));
    }

    [Fact]
    public async Task BrokerRegistration_DynamicQuorum_RefusedWithoutTheKRaftVersionRange_AcceptedWithIt()
    {
        var harness = DynamicQuorum();
        BrokerRegistrationRequest Request(int id, params (string Name, short Min, short Max)[] features) => new()
        {
            BrokerId = id,
            ClusterId = harness.Image.ClusterId,
            IncarnationId = Guid.NewGuid(),
            Listeners = [new BrokerRegistrationRequest.Listener { Name = "PLAINTEXT", Host = "127.0.0.1", Port = (ushort)(9090 + id), SecurityProtocol = 0 }],
            Features = [.. features.Select(f => new BrokerRegistrationRequest.Feature { Name = f.Name, MinSupportedVersion = f.Min, MaxSupportedVersion = f.Max })],
        };
        var metadataVersion = ("metadata.version", MetadataFeatures.MetadataVersionLevel, MetadataFeatures.MetadataVersionLevel);

        var without = await CallAsync<BrokerRegistrationResponse>(harness, 62, 4, Request(5, metadataVersion), ApiListeners.Controller);
        var with = await CallAsync<BrokerRegistrationResponse>(harness, 62, 4, Request(6, metadataVersion, ("kraft.version", 0, 1)), ApiListeners.Controller);

        Assert.Equal((short)ErrorCode.UnsupportedVersion, without.ErrorCode);
        Assert.False(harness.Image.Brokers.ContainsKey(5));
        Assert.Equal((short)ErrorCode.None, with.ErrorCode);
        Assert.True(harness.Image.Brokers[6].Fenced);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
