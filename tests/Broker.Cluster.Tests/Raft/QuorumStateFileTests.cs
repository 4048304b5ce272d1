using Broker.Cluster.Raft;

namespace Broker.Cluster.Tests.Raft;

/// <summary>The <c>quorum-state</c> file: Kafka's JSON (QuorumStateData v0 plus data_version), frozen by golden strings.</summary>
public sealed class QuorumStateFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quorum-state-" + Guid.NewGuid().ToString("N"));

    public QuorumStateFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Format_VotedState_MatchesKafkasVersion0Layout()
    {
        var text = FileQuorumStateStore.Format(new ElectionState(5, -1, 2), [1, 2, 3]);

        Assert.Equal(
            """{"clusterId":"","leaderId":-1,"leaderEpoch":5,"votedId":2,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}""",
            text);
    }

    [Fact]
    public void Write_ThenRead_RoundTripsAndLeavesNoTemporaryFile()
    {
        var store = new FileQuorumStateStore(_dir, [1, 2, 3]);

        store.Write(new ElectionState(7, 3, 3));

        Assert.Equal(new ElectionState(7, 3, 3), new FileQuorumStateStore(_dir, [1, 2, 3]).Read());
        Assert.Equal(
            """{"clusterId":"","leaderId":3,"leaderEpoch":7,"votedId":3,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}""",
            File.ReadAllText(Path.Combine(_dir, "quorum-state")));
        Assert.False(File.Exists(Path.Combine(_dir, "quorum-state.tmp")));
    }

    [Fact]
    public void Read_NoFile_ReturnsNull()
    {
        Assert.Null(new FileQuorumStateStore(_dir, [1]).Read());
    }

    [Fact]
    public void Read_Version1FileWrittenByKafka4_ReadsEpochLeaderAndVote()
    {
        File.WriteAllText(Path.Combine(_dir, "quorum-state"),
            """{"leaderId":2,"leaderEpoch":12,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}""");

        Assert.Equal(new ElectionState(12, 2, -1), new FileQuorumStateStore(_dir, [1, 2, 3]).Read());
    }

    [Fact]
    public void Read_TornFile_ThrowsInvalidDataNamingTheFile()
    {
        File.WriteAllText(Path.Combine(_dir, "quorum-state"), """{"clusterId":"","leaderId":3,"leaderEp""");

        var error = Assert.Throws<InvalidDataException>(() => new FileQuorumStateStore(_dir, [1]).Read());

        Assert.Contains("quorum-state", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownDataVersion_Throws()
    {
        File.WriteAllText(Path.Combine(_dir, "quorum-state"), """{"leaderId":2,"leaderEpoch":12,"votedId":-1,"data_version":7}""");

        Assert.Throws<InvalidDataException>(() => new FileQuorumStateStore(_dir, [1]).Read());
    }

    [Fact]
    public void ParseVoters_KafkaSyntax_ReadsIdsHostsAndPorts()
    {
        var voters = QuorumConfig.ParseVoters("1@controller-0:9090, 2@[::1]:9091,3@10.0.0.3:9092");

        Assert.Equal([new VoterEndpoint(1, "controller-0", 9090), new VoterEndpoint(2, "::1", 9091), new VoterEndpoint(3, "10.0.0.3", 9092)], voters);
    }

    [Theory]
    [InlineData("1controller:9090")]
    [InlineData("x@host:9090")]
    [InlineData("1@host")]
    [InlineData("1@host:99999")]
    public void ParseVoters_Malformed_ThrowsNamingTheKey(string value)
    {
        var error = Assert.Throws<FormatException>(() => QuorumConfig.ParseVoters(value));

        Assert.Contains("controller.quorum.voters", error.Message, StringComparison.Ordinal);
    }
}
