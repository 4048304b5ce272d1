using System.Text.Json.Nodes;
using Kube.ApiServer.Patch;

namespace Kube.ApiServer.Tests.Unit;

/// <summary>Merge, JSON and strategic merge patches. No sockets.</summary>
public sealed class PatchTests
{
    private static JsonObject Obj(string json) => (JsonObject)JsonNode.Parse(json)!;

    [Fact]
    public void StrategicMerge_ContainersByName_MergesAndKeepsOthers()
    {
        var live = Obj("""{"spec":{"containers":[{"name":"a","image":"a:1","env":[{"name":"X","value":"1"}]},{"name":"b","image":"b:1"}]}}""");
        var patch = Obj("""{"spec":{"containers":[{"name":"a","image":"a:2","env":[{"name":"Y","value":"2"}]},{"name":"c","image":"c:1"}]}}""");

        var result = StrategicMergePatch.Apply(live, patch);

        Assert.Equal(
            """{"spec":{"containers":[{"name":"a","image":"a:2","env":[{"name":"X","value":"1"},{"name":"Y","value":"2"}]},{"name":"b","image":"b:1"},{"name":"c","image":"c:1"}]}}""",
            result.ToJsonString());
    }

    [Fact]
    public void StrategicMerge_DeleteDirectiveAndNull_RemoveItemsAndKeys()
    {
        var live = Obj("""{"metadata":{"labels":{"a":"1","b":"2"},"finalizers":["x","y"]},"spec":{"ports":[{"port":80,"name":"http"},{"port":443,"name":"https"}]}}""");
        var patch = Obj("""{"metadata":{"labels":{"a":null},"$deleteFromPrimitiveList/finalizers":["x"]},"spec":{"ports":[{"port":80,"$patch":"delete"}]}}""");

        var result = StrategicMergePatch.Apply(live, patch);

        Assert.Equal("""{"metadata":{"labels":{"b":"2"},"finalizers":["y"]},"spec":{"ports":[{"port":443,"name":"https"}]}}""", result.ToJsonString());
    }

    [Fact]
    public void MergePatch_ListsAreReplacedAndNullsDelete()
    {
        var result = MergePatch.Apply(Obj("""{"a":{"b":1,"c":[1,2]},"d":1}"""), Obj("""{"a":{"c":[3]},"d":null}"""));

        Assert.Equal("""{"a":{"b":1,"c":[3]}}""", result!.ToJsonString());
    }

    [Fact]
    public void JsonPatch_TestFailure_Throws()
    {
        var ops = (JsonArray)JsonNode.Parse("""[{"op":"test","path":"/a","value":2},{"op":"replace","path":"/a","value":3}]""")!;

        Assert.Throws<FormatException>(() => JsonPatch.Apply(Obj("""{"a":1}"""), ops));
        Assert.Equal("""{"a":3,"b":[0,1]}""", JsonPatch.Apply(Obj("""{"a":1,"b":[1]}"""),
            (JsonArray)JsonNode.Parse("""[{"op":"replace","path":"/a","value":3},{"op":"add","path":"/b/0","value":0}]""")!).ToJsonString());
    }

    [Fact]
    public void FieldSet_KeyedListsAndFieldsV1_RoundTrip()
    {
        var obj = Obj("""{"metadata":{"name":"n","labels":{"a":"1"}},"spec":{"containers":[{"name":"c","image":"i"}]}}""");

        var set = FieldSet.Extract(obj, null, custom: false, status: false);
        var fields = FieldSet.ToFieldsV1(set);

        Assert.Equal("""{"f:metadata":{"f:labels":{"f:a":{}}},"f:spec":{"f:containers":{"k:{\u0022name\u0022:\u0022c\u0022}":{".":{},"f:image":{},"f:name":{}}}}}""", fields.ToJsonString());
        Assert.True(set.SetEquals(FieldSet.FromFieldsV1(fields)));
        Assert.Equal(".spec.containers[name=\"c\"].image", FieldSet.Render("f:spec\nf:containers\nk:{\"name\":\"c\"}\nf:image"));
    }
}
