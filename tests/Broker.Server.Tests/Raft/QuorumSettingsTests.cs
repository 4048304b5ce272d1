using Broker.Server.Configuration;
using Broker.Server.Raft;

namespace Broker.Server.Tests.Raft;

/// <summary>KRaft configuration checks, as Kafka's KafkaConfig makes them; every error names its key.</summary>
public sealed class QuorumSettingsTests
{
    private const string Voters = "1@127.0.0.1:9093,2@127.0.0.1:9094,3@127.0.0.1:9095";

    private static BrokerConfig Load(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["process.roles"] = "broker,controller",
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
            ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["controller.listener.names"] = "CONTROLLER",
            ["controller.quorum.voters"] = Voters,
            ["log.dirs"] = "/tmp/unused-quorum-settings",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return BrokerConfig.Load(null, new Dictionary<string, string>(), settings, null);
    }

    [Fact]
    public void From_NoVoters_ReturnsNullForTheSingleNodeLog()
    {
        var config = BrokerConfig.Load(null, new Dictionary<string, string>(),
            new Dictionary<string, string> { ["log.dirs"] = "/tmp/unused-quorum-settings", ["listeners"] = "PLAINTEXT://127.0.0.1:9092" }, null);

        Assert.Null(QuorumSettings.From(config));
    }

    [Fact]
    public void From_CombinedNodeAmongVoters_ReturnsVotersAndTimers()
    {
        var quorum = QuorumSettings.From(Load(("controller.quorum.election.timeout.ms", "700"), ("controller.quorum.fetch.timeout.ms", "1500"),
            ("controller.quorum.election.backoff.max.ms", "300"), ("controller.quorum.request.timeout.ms", "2500"), ("controller.quorum.retry.backoff.ms", "40")));

        Assert.NotNull(quorum);
        Assert.Equal([1, 2, 3], quorum.VoterIds);
        Assert.Equal(9094, quorum.Voters[1].Port);
        Assert.Equal(700, quorum.ElectionTimeoutMs);
        Assert.Equal(1500, quorum.FetchTimeoutMs);
        Assert.Equal(300, quorum.ElectionBackoffMaxMs);
        Assert.Equal(2500, quorum.RequestTimeoutMs);
        Assert.Equal(40, quorum.RetryBackoffMs);
        Assert.True(quorum.IsVoter(1));
    }

    [Fact]
    public void From_ControllerNotAmongVoters_ThrowsNamingVoters()
    {
        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("node.id", "4"))));

        Assert.Equal("controller.quorum.voters", error.Key);
        Assert.Contains("node.id 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_BrokerOnlyNodeAmongVoters_ThrowsNamingVoters()
    {
        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("process.roles", "broker"), ("listeners", "PLAINTEXT://127.0.0.1:9092"))));

        Assert.Equal("controller.quorum.voters", error.Key);
    }

    [Fact]
    public void From_BrokerOnlyObserver_ReturnsQuorumWithoutItself()
    {
        var quorum = QuorumSettings.From(Load(("node.id", "7"), ("process.roles", "broker"), ("listeners", "PLAINTEXT://127.0.0.1:9092")));

        Assert.NotNull(quorum);
        Assert.False(quorum.IsVoter(7));
    }

    [Theory]
    [InlineData("1@127.0.0.1")]
    [InlineData("x@127.0.0.1:9093")]
    [InlineData("1@127.0.0.1:9093,1@127.0.0.1:9094")]
    public void From_MalformedVoters_ThrowsNamingVoters(string voters)
    {
        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("controller.quorum.voters", voters))));

        Assert.Equal("controller.quorum.voters", error.Key);
    }

    [Fact]
    public void From_NoControllerListenerNames_ThrowsNamingThem()
    {
        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("controller.listener.names", ""),
            ("listeners", "PLAINTEXT://127.0.0.1:9092"))));

        Assert.Equal("controller.listener.names", error.Key);
    }

    [Fact]
    public void From_CombinedNodeAdvertisesItsControllerListener_AcceptedAndTheBrokerAdvertisesTheOthersOnly()
    {
        // Kafka 3.9+ (KIP-853): the controller listener in advertised.listeners is the controller's endpoint, as the
        // operator's generated configs for dual-role nodes have it.
        var config = Load(("advertised.listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"));

        Assert.NotNull(QuorumSettings.From(config));
        Assert.Equal("PLAINTEXT://127.0.0.1:9092", Assert.Single(config.AdvertisedListeners).ToString());
    }
}
