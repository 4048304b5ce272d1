using System.Text.Json.Nodes;
using Kube.ApiServer.Http;
using Kube.ApiServer.Selectors;
using Kube.ApiServer.Storage;

namespace Kube.ApiServer.Tests.Unit;

/// <summary>Label and field selectors, and how a filtered watch sees selector transitions. No sockets.</summary>
public sealed class SelectorTests
{
    private static JsonObject Labels(string json) => (JsonObject)JsonNode.Parse(json)!;

    [Theory]
    [InlineData("app=kafka", """{"app":"kafka"}""", true)]
    [InlineData("app==kafka", """{"app":"zk"}""", false)]
    [InlineData("app!=kafka", """{}""", true)]
    [InlineData("app in (kafka, zk),tier", """{"app":"zk","tier":"x"}""", true)]
    [InlineData("app notin (kafka)", """{"app":"kafka"}""", false)]
    [InlineData("!tier", """{"tier":""}""", false)]
    [InlineData("", """{}""", true)]
    public void Parse_QuerySyntax_MatchesLikeApimachinery(string selector, string labels, bool expected) =>
        Assert.Equal(expected, LabelSelector.Parse(selector).Matches(Labels(labels)));

    [Fact]
    public void FromJson_MatchLabelsAndExpressions_AreAnded()
    {
        var selector = LabelSelector.FromJson(Labels("""{"matchLabels":{"app":"kafka"},"matchExpressions":[{"key":"role","operator":"In","values":["broker"]}]}"""));

        Assert.True(selector.Matches(Labels("""{"app":"kafka","role":"broker"}""")));
        Assert.False(selector.Matches(Labels("""{"app":"kafka","role":"controller"}""")));
    }

    [Fact]
    public void FieldSelector_UnsupportedField_IsRejected()
    {
        var error = Assert.Throws<FormatException>(() => FieldSelector.Parse("spec.replicas=1", FieldSelector.SupportedFields("", "configmaps")));

        Assert.Equal("field label not supported: spec.replicas", error.Message);
    }

    [Fact]
    public void WatchFilter_ObjectLeavesAndEntersSelector_BecomesDeletedAndAdded()
    {
        const string before = """{"metadata":{"name":"a","resourceVersion":"5","labels":{"app":"kafka"}}}""";
        const string after = """{"metadata":{"name":"a","resourceVersion":"6","labels":{"app":"zk"}}}""";
        var selector = LabelSelector.Parse("app=kafka");

        var (leaveType, leaveObject) = WatchStreamer.Filter(new WatchEvent("MODIFIED", "/configmaps", "default", "a", 6, after, before), selector, FieldSelector.Everything);
        var (enterType, enterObject) = WatchStreamer.Filter(new WatchEvent("MODIFIED", "/configmaps", "default", "a", 7, before, after), selector, FieldSelector.Everything);
        var (otherType, otherObject) = WatchStreamer.Filter(new WatchEvent("MODIFIED", "/configmaps", "default", "a", 8, after, after), selector, FieldSelector.Everything);

        Assert.Equal("DELETED", leaveType);
        Assert.Equal("kafka", leaveObject!["metadata"]!["labels"]!["app"]!.GetValue<string>());
        Assert.Equal("6", leaveObject["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal("ADDED", enterType);
        Assert.NotNull(enterObject);
        Assert.Equal("", otherType);
        Assert.Null(otherObject);
    }
}
