using System.Text.Json.Nodes;
using Kube.ApiServer.Table;

namespace Kube.ApiServer.Tests.Unit;

/// <summary>Printer-column JSONPath and kubectl's age rendering. No sockets, no wall clock.</summary>
public sealed class TableTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(119, "119s")]
    [InlineData(125, "2m5s")]
    [InlineData(600, "10m")]
    [InlineData(3 * 3600 + 120, "3h2m")]
    [InlineData(9 * 3600, "9h")]
    [InlineData(3 * 86400 + 3600, "3d1h")]
    [InlineData(30 * 86400, "30d")]
    public void HumanDuration_Seconds_MatchesApimachinery(int seconds, string expected) =>
        Assert.Equal(expected, TableConverter.HumanDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void JsonPath_FilterAndIndex_SelectValues()
    {
        var obj = JsonNode.Parse("""{"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Other","status":"False"}]},"spec":{"list":[1,2,3]}}""")!;

        Assert.Equal("True", JsonPath.Evaluate(obj, ".status.conditions[?(@.type==\"Ready\")].status").Single()!.GetValue<string>());
        Assert.Equal(3, JsonPath.Evaluate(obj, ".spec.list[-1]").Single()!.GetValue<int>());
        Assert.Equal(3, JsonPath.Evaluate(obj, ".spec.list[*]").Count);
        Assert.Empty(JsonPath.Evaluate(obj, ".spec.missing.deeper"));
    }
}
