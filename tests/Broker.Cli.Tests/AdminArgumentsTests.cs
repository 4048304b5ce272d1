namespace Broker.Cli.Tests;

/// <summary>The admin tools' pure parts: --add-config parsing, reassignment JSON and the --generate placement. No sockets.</summary>
public sealed class AdminArgumentsTests
{
    [Fact]
    public void ParseAddConfig_BracketsAroundAListValue_CommasKeptBracketsDropped()
    {
        var configs = ConfigsCommand.ParseAddConfig("retention.ms=1000, cleanup.policy=[compact,delete],leader.replication.throttled.replicas=[0:1,1:2]");

        Assert.Equal(new Dictionary<string, string>
        {
            ["retention.ms"] = "1000",
            ["cleanup.policy"] = "compact,delete",
            ["leader.replication.throttled.replicas"] = "0:1,1:2",
        }, configs);
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=1")]
    public void ParseAddConfig_ItemWithoutKey_FormatException(string text)
    {
        Assert.Throws<FormatException>(() => ConfigsCommand.ParseAddConfig(text));
    }

    [Fact]
    public void Spread_SixPartitionsOnThreeBrokers_EveryLeaderTwiceAndFollowerOrderShiftedAfterARound()
    {
        var plans = Enumerable.Range(0, 6).Select(p => ReassignPartitionsCommand.Spread([1, 2, 3], p, 3, start: 0)).ToList();

        Assert.Equal([[1, 2, 3], [2, 3, 1], [3, 1, 2], [1, 3, 2], [2, 1, 3], [3, 2, 1]], plans);
    }

    [Fact]
    public void FormatThenParsePlan_RoundTrips()
    {
        var plan = new[] { new PartitionTarget("b", 1, [3, 1]), new PartitionTarget("a", 0, [1, 2]) };

        var json = ReassignmentJson.Format(plan);

        Assert.Equal("{\"version\":1,\"partitions\":[{\"topic\":\"a\",\"partition\":0,\"replicas\":[1,2],\"log_dirs\":[\"any\",\"any\"]}," +
            "{\"topic\":\"b\",\"partition\":1,\"replicas\":[3,1],\"log_dirs\":[\"any\",\"any\"]}]}", json);
        Assert.Equal(["a-0:1,2", "b-1:3,1"], ReassignmentJson.ParsePlan(json).Select(p => $"{p.Name}:{string.Join(",", p.Replicas)}"));
    }

    [Theory]
    [InlineData("{\"version\":1,\"partitions\":[]}", "lists no partitions")]
    [InlineData("{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}", "needs \"topic\", \"partition\" and \"replicas\"")]
    [InlineData("{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1]},{\"topic\":\"t\",\"partition\":0,\"replicas\":[2]}]}", "lists t-0 twice")]
    [InlineData("{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[\"x\"]}]}", "is not a broker id")]
    [InlineData("{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":\"0\",\"replicas\":[1]}]}", "needs \"topic\", \"partition\" and \"replicas\"")]
    public void ParsePlan_Invalid_FormatExceptionSayingWhy(string json, string message)
    {
        var e = Assert.Throws<FormatException>(() => ReassignmentJson.ParsePlan(json));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
