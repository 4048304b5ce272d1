using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Kube.ApiServer.Tests;

/// <summary>The real kubectl 1.32 against the fixture.</summary>
public sealed class KubectlTests
{
    [Fact]
    public async Task Apply_CrdThenCustomResource_GetShowsPrinterColumnsAndPrunedDefaultedObject()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        var crd = kubectl.WriteFile("crd.yaml", Manifests.TopicCrd);
        var cr = kubectl.WriteFile("cr.yaml", Manifests.Topic);

        Assert.Contains("customresourcedefinition.apiextensions.k8s.io/kafkatopics.kafka.example.io created", await kubectl.OkAsync("apply", "-f", crd));
        Assert.Contains("kafkatopic.kafka.example.io/orders created", await kubectl.OkAsync("apply", "-f", cr));

        var table = (await kubectl.OkAsync("get", "kt")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+PARTITIONS\s+READY$", table[0].TrimEnd());
        Assert.Matches(@"^orders\s+3\s*$", table[1]);

        var json = JsonNode.Parse(await kubectl.OkAsync("get", "kafkatopic", "orders", "-o", "json"))!;
        Assert.Equal(3, json["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(1, json["metadata"]!["generation"]!.GetValue<int>());

        Assert.Contains("orders", await kubectl.OkAsync("get", "kafkatopics.kafka.example.io", "-o", "name"));
    }

    [Fact]
    public async Task Patch_MergeAndJsonPatch_ChangeSpecAndBumpGeneration()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("crd.yaml", Manifests.TopicCrd));
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("cr.yaml", Manifests.Topic));

        Assert.Contains("patched", await kubectl.OkAsync("patch", "kt", "orders", "--type=merge", "-p", """{"spec":{"partitions":6}}"""));
        Assert.Contains("patched", await kubectl.OkAsync("patch", "kt", "orders", "--type=json", "-p", """[{"op":"replace","path":"/spec/replicas","value":1}]"""));
        Assert.Contains("patched (no change)", await kubectl.OkAsync("patch", "kt", "orders", "--type=merge", "-p", """{"spec":{"partitions":6}}"""));

        var obj = JsonNode.Parse(await kubectl.OkAsync("get", "kt", "orders", "-o", "json"))!;
        Assert.Equal(6, obj["spec"]!["partitions"]!.GetValue<int>());
        Assert.Equal(1, obj["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(3, obj["metadata"]!["generation"]!.GetValue<int>());

        // Custom resources take no strategic merge patch, exactly as the apiserver says.
        var (code, _, err) = await kubectl.RunAsync("patch", "kt", "orders", "-p", """{"spec":{"partitions":2}}""");
        Assert.NotEqual(0, code);
        Assert.Contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml", err);
    }

    [Fact]
    public async Task Delete_WithFinalizer_StaysWithDeletionTimestampUntilFinalizerRemoved()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        // `kubectl create configmap` sends protobuf, which the fixture does not decode (see README); apply sends JSON.
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("cm.yaml", """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: held
            data:
              a: b
            """));
        await kubectl.OkAsync("patch", "configmap", "held", "--type=merge", "-p", """{"metadata":{"finalizers":["example.io/hold"]}}""");

        Assert.Contains("configmap \"held\" deleted", await kubectl.OkAsync("delete", "configmap", "held", "--wait=false"));
        var held = JsonNode.Parse(await kubectl.OkAsync("get", "configmap", "held", "-o", "json"))!;
        Assert.NotNull(held["metadata"]!["deletionTimestamp"]);

        // A waiting delete returns once the finalizer is removed. It prints "deleted" when its DELETE
        // was answered and then waits: only then is the finalizer removed (else the DELETE could see 404).
        using var waiting = kubectl.Start("delete", "configmap", "held", "--timeout=20s");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal("configmap \"held\" deleted", await waiting.StandardOutput.ReadLineAsync(timeout.Token));
        await kubectl.OkAsync("patch", "configmap", "held", "--type=json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""");
        await waiting.WaitForExitAsync(timeout.Token);
        Assert.True(waiting.ExitCode == 0, await waiting.StandardError.ReadToEndAsync(timeout.Token));

        var (code, _, err) = await kubectl.RunAsync("get", "configmap", "held");
        Assert.NotEqual(0, code);
        Assert.Contains("Error from server (NotFound): configmaps \"held\" not found", err);
    }

    [Fact]
    public async Task GetWatch_SeesUpdateOfCustomResource()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("crd.yaml", Manifests.TopicCrd));
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("cr.yaml", Manifests.Topic));

        using var watch = kubectl.Start("get", "kt", "-w", "--request-timeout=20s");
        var firstLines = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        // The initial listing (header + row) arrives before the update is made.
        while (firstLines.Count < 2)
        {
            firstLines.Add(await watch.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("watch ended"));
        }
        Assert.Matches(@"^orders\s+3", firstLines[1]);

        await kubectl.OkAsync("patch", "kt", "orders", "--type=merge", "-p", """{"spec":{"partitions":9}}""");
        var updated = await watch.StandardOutput.ReadLineAsync(timeout.Token);
        Assert.Matches(@"^orders\s+9", updated);
        watch.Kill();
    }

    [Fact]
    public async Task Apply_InvalidCustomResource_ReportsApiServerMessage()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("crd.yaml", Manifests.TopicCrd));
        var bad = kubectl.WriteFile("bad.yaml", """
            apiVersion: kafka.example.io/v1
            kind: KafkaTopic
            metadata:
              name: bad
            spec:
              partitions: "three"
            """);

        var (code, _, err) = await kubectl.RunAsync("apply", "-f", bad);

        Assert.NotEqual(0, code);
        Assert.Contains("The KafkaTopic \"bad\" is invalid: spec.partitions: Invalid value: \"string\": spec.partitions in body must be of type integer: \"string\"", err);
    }

    [Fact]
    public async Task ApplyServerSide_StatefulSetAndService_CreatesThenReportsUnchanged()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        var file = kubectl.WriteFile("app.yaml", """
            apiVersion: v1
            kind: Service
            metadata:
              name: kafka
            spec:
              selector: {app: kafka}
              ports:
              - {name: plain, port: 9092}
            """);

        Assert.Contains("service/kafka serverside-applied", await kubectl.OkAsync("apply", "--server-side", "-f", file));
        var rv1 = await kubectl.OkAsync("get", "svc", "kafka", "-o", "jsonpath={.metadata.resourceVersion}");
        await kubectl.OkAsync("apply", "--server-side", "-f", file);
        var rv2 = await kubectl.OkAsync("get", "svc", "kafka", "-o", "jsonpath={.metadata.resourceVersion}");
        Assert.Equal(rv1, rv2);
        var managers = await kubectl.OkAsync("get", "svc", "kafka", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}");
        Assert.Equal("kubectl", managers);
    }

    [Fact]
    public async Task Create_ImperativeCommandsSendingProtobuf_ObjectsStoredAsSent()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);

        await kubectl.OkAsync("create", "namespace", "demo");
        await kubectl.OkAsync("create", "configmap", "settings", "--from-literal=mode=fast", "-n", "demo");
        await kubectl.OkAsync("create", "secret", "generic", "creds", "--from-literal=password=hunter2", "-n", "demo");
        await kubectl.OkAsync("create", "serviceaccount", "operator", "-n", "demo");
        await kubectl.OkAsync("create", "role", "reader", "--verb=get,list", "--resource=pods", "-n", "demo");
        await kubectl.OkAsync("create", "rolebinding", "reader", "--role=reader", "--serviceaccount=demo:operator", "-n", "demo");
        await kubectl.OkAsync("create", "clusterrole", "ns-reader", "--verb=list", "--resource=namespaces");
        await kubectl.OkAsync("create", "clusterrolebinding", "ns-reader", "--clusterrole=ns-reader", "--user=alice");

        Assert.Equal("fast", await kubectl.OkAsync("get", "configmap", "settings", "-n", "demo", "-o", "jsonpath={.data.mode}"));
        Assert.Equal(Convert.ToBase64String("hunter2"u8), await kubectl.OkAsync("get", "secret", "creds", "-n", "demo", "-o", "jsonpath={.data.password}"));
        Assert.Equal("Opaque", await kubectl.OkAsync("get", "secret", "creds", "-n", "demo", "-o", "jsonpath={.type}"));
        var binding = JsonNode.Parse(await kubectl.OkAsync("get", "rolebinding", "reader", "-n", "demo", "-o", "json"))!;
        Assert.Equal("ServiceAccount", binding["subjects"]![0]!["kind"]!.GetValue<string>());
        Assert.Equal("operator", binding["subjects"]![0]!["name"]!.GetValue<string>());
        Assert.Null(binding["subjects"]![0]!["apiGroup"]);
        Assert.Equal("reader", binding["roleRef"]!["name"]!.GetValue<string>());
        var role = JsonNode.Parse(await kubectl.OkAsync("get", "role", "reader", "-n", "demo", "-o", "json"))!;
        Assert.Equal("""[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]""", role["rules"]!.ToJsonString());
        Assert.Equal("alice", await kubectl.OkAsync("get", "clusterrolebinding", "ns-reader", "-o", "jsonpath={.subjects[0].name}"));
    }

    [Fact]
    public async Task Create_ProtobufKindTheFixtureCannotDecode_UnsupportedMediaTypeNamingIt()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);

        var (code, _, err) = await kubectl.RunAsync("create", "service", "clusterip", "web", "--tcp=80:8080");

        Assert.NotEqual(0, code);
        Assert.Contains("decodes protobuf bodies only for Namespace, ConfigMap, Secret, ServiceAccount", err);
        Assert.Contains("send v1/Service as application/json", err);
    }

    [Fact]
    public async Task Get_BuiltInKinds_ShowsTheApiserverPrinterColumns()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("objects.yaml", """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: kafka}
            spec:
              replicas: 1
              serviceName: kafka
              selector: {matchLabels: {app: kafka}}
              template:
                metadata: {labels: {app: kafka}}
                spec: {containers: [{name: broker, image: broker:1}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: kafka-bootstrap}
            spec:
              selector: {app: kafka}
              ports: [{name: tcp-clients, port: 9092}, {name: tcp-replication, port: 9091}]
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kafka-0}
            data: {server.config: "node.id=0", log4j.properties: ""}
            """));
        await Eventually.GetAsync(() => kubectl.OkAsync("get", "pods", "-o", "name"), o => o.Contains("pod/kafka-0"), "pod kafka-0");

        var pods = Lines(await kubectl.OkAsync("get", "pods"));
        var sts = Lines(await kubectl.OkAsync("get", "statefulsets"));
        var services = Lines(await kubectl.OkAsync("get", "services", "kafka-bootstrap"));
        var configMaps = Lines(await kubectl.OkAsync("get", "configmaps", "kafka-0"));

        Assert.Matches(@"^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$", pods[0]);
        Assert.Matches(@"^kafka-0\s+0/1\s+Pending\s+0\s+\d+s$", pods[1]);
        Assert.Matches(@"^NAME\s+READY\s+AGE$", sts[0]);
        Assert.Matches(@"^kafka\s+0/1\s+\d+s$", sts[1]);
        Assert.Matches(@"^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$", services[0]);
        Assert.Matches(@"^kafka-bootstrap\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+9092/TCP,9091/TCP\s+\d+s$", services[1]);
        Assert.Matches(@"^kafka-0\s+2\s+\d+s$", configMaps[1]);
    }

    private static string[] Lines(string output) => [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd())];
}
