namespace Kube.ApiServer.Tests;

/// <summary>
/// Server-side field validation (the fieldValidation parameter): unknown fields never reach storage; Strict (what
/// kubectl sends) fails with the strict decoder's 400, Warn (the default) adds a Warning header per field, Ignore drops
/// them silently. For built-in kinds and for custom resources.
/// </summary>
public sealed class FieldValidationTests
{
    private const string ConfigMapWithTypos = """
        {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","labelz":{"a":"b"}},"data":{"k":"v"},"dta":{"x":"y"}}
        """;

    [Fact]
    public async Task KubectlApply_BuiltInKindWithUnknownFields_StrictDecodingErrorWithPaths()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        var manifest = kubectl.WriteFile("sts.yaml", """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata:
              name: web
            spec:
              replica: 2
              serviceName: web
              selector:
                matchLabels: {app: web}
              template:
                metadata:
                  labels: {app: web}
                spec:
                  containers:
                  - name: web
                    imagee: nginx
                    image: nginx
            """);

        var (code, _, err) = await kubectl.RunAsync("apply", "-f", manifest);

        Assert.NotEqual(0, code);
        Assert.Contains(
            "StatefulSet in version \"v1\" cannot be handled as a StatefulSet: strict decoding error: unknown field \"spec.replica\", unknown field \"spec.template.spec.containers[0].imagee\"",
            err);
        var (getCode, _, _) = await kubectl.RunAsync("get", "statefulset", "web");
        Assert.NotEqual(0, getCode);
    }

    [Fact]
    public async Task KubectlApply_CustomResourceWithFieldOutsideSchema_StrictDecodingError()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        await kubectl.OkAsync("apply", "-f", kubectl.WriteFile("crd.yaml", Manifests.TopicCrd));

        var (code, _, err) = await kubectl.RunAsync("apply", "-f", kubectl.WriteFile("cr.yaml", Manifests.TopicWithUnknownField));

        Assert.NotEqual(0, code);
        Assert.Contains("KafkaTopic in version \"v1\" cannot be handled as a KafkaTopic: strict decoding error: unknown field \"spec.notInSchema\"", err);
    }

    [Fact]
    public async Task Post_NoFieldValidationParameter_WarnsPerFieldAndStoresWithoutThem()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);

        var (code, body, warnings) = await raw.PostWithWarningsAsync("/api/v1/namespaces/default/configmaps", ConfigMapWithTypos);

        Assert.Equal(201, code);
        Assert.Equal(["299 - \"unknown field \\\"metadata.labelz\\\"\"", "299 - \"unknown field \\\"dta\\\"\""], warnings);
        Assert.Null(body["dta"]);
        Assert.Null(body["metadata"]!["labelz"]);
        var (_, stored) = await raw.GetAsync("/api/v1/namespaces/default/configmaps/settings");
        Assert.Null(stored["dta"]);
        Assert.Equal("v", stored["data"]!["k"]!.GetValue<string>());
    }

    [Fact]
    public async Task Post_Strict_BadRequestStatusAndNothingStored()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);

        var (code, body) = await raw.PostAsync("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", ConfigMapWithTypos);

        Assert.Equal(400, code);
        Assert.Equal("BadRequest", body["reason"]!.GetValue<string>());
        Assert.Equal(
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.labelz\", unknown field \"dta\"",
            body["message"]!.GetValue<string>());
        var (getCode, _) = await raw.GetAsync("/api/v1/namespaces/default/configmaps/settings");
        Assert.Equal(404, getCode);
    }

    [Fact]
    public async Task Post_Ignore_NoWarningFieldsDropped()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);

        var (code, body, warnings) = await raw.PostWithWarningsAsync("/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", ConfigMapWithTypos);

        Assert.Equal(201, code);
        Assert.Empty(warnings);
        Assert.Null(body["dta"]);
    }

    [Fact]
    public async Task Patch_StrictMergePatchAddingUnknownField_BadRequestAndObjectUnchanged()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);
        var (_, created) = await raw.PostAsync("/api/v1/namespaces/default/configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}}""");

        var (code, body) = await raw.PatchAsync("/api/v1/namespaces/default/configmaps/c?fieldValidation=Strict", """{"datta":{"k":"w"}}""", "application/merge-patch+json");

        Assert.Equal(400, code);
        Assert.Contains("strict decoding error: unknown field \"datta\"", body["message"]!.GetValue<string>());
        var (_, stored) = await raw.GetAsync("/api/v1/namespaces/default/configmaps/c");
        Assert.Equal(created["metadata"]!["resourceVersion"]!.GetValue<string>(), stored["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal("v", stored["data"]!["k"]!.GetValue<string>());
        Assert.Null(stored["datta"]);
    }

    [Fact]
    public async Task Post_UnsupportedFieldValidationValue_BadRequest()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);

        var (code, _) = await raw.PostAsync("/api/v1/namespaces/default/configmaps?fieldValidation=Loose", """{"metadata":{"name":"c"}}""");

        Assert.Equal(400, code);
    }

    [Fact]
    public async Task KubectlApply_BoolWhereStringExpected_GoUnmarshalErrorWhateverTheDirective()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var kubectl = new Kubectl(server);
        var manifest = kubectl.WriteFile("deploy.yaml", """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: api
            spec:
              selector:
                matchLabels: {app: api}
              template:
                metadata:
                  labels: {app: api}
                spec:
                  containers:
                  - name: api
                    image: api:1
                    env:
                    - name: DEBUG
                      value: true
            """);

        var (code, _, err) = await kubectl.RunAsync("apply", "--validate=false", "-f", manifest);

        Assert.NotEqual(0, code);
        Assert.Contains(
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal bool into Go struct field EnvVar.spec.template.spec.containers.env.value of type string",
            err);
    }

    [Fact]
    public async Task Post_StringWhereIntegerExpected_BadRequestNamingGoFieldAndType()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);

        var (code, body) = await raw.PostAsync("/apis/apps/v1/namespaces/default/statefulsets?fieldValidation=Ignore", """
            {"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"s"},"spec":{"replicas":"two","serviceName":"s",
             "selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}
            """);

        Assert.Equal(400, code);
        Assert.Equal(
            "StatefulSet in version \"v1\" cannot be handled as a StatefulSet: json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32",
            body["message"]!.GetValue<string>());
    }

    [Fact]
    public void ModelFor_EveryBuiltInResource_HasAKubernetesClientModel()
    {
        var missing = Discovery.BuiltInResources.All.Where(t => t.Custom is null && Validation.UnknownFieldDetector.ModelFor(t) is null).Select(t => t.QualifiedKind).ToList();

        Assert.Empty(missing);
    }
}
