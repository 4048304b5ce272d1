namespace Kube.ApiServer.Tests;

/// <summary>One server with the topic CRD installed, shared by the validation cases (they never persist anything they share).</summary>
public sealed class ValidationServer : IAsyncLifetime
{
    public KubeApiServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await KubeApiServer.StartAsync(new KubeApiServerOptions { RunControllers = false });
        using var raw = new Raw(Server);
        await raw.CreateYamlAsync("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", Manifests.TopicCrd);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Invalid objects are refused with 422 and the apiserver's exact message and causes.</summary>
public sealed class ValidationTests(ValidationServer fixture) : IClassFixture<ValidationServer>
{
    private const string Subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    private const string Dns1035 = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    private const string Topics = "/apis/kafka.example.io/v1/namespaces/default/kafkatopics";

    public static TheoryData<string, string, string> InvalidObjects => new()
    {
        {
            "/api/v1/namespaces/default/configmaps",
            """{"metadata":{"name":"Bad_Name"}}""",
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": " + Subdomain
        },
        {
            "/api/v1/namespaces",
            """{"metadata":{"name":"Team"}}""",
            "Namespace \"Team\" is invalid: metadata.name: Invalid value: \"Team\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        },
        {
            "/api/v1/namespaces/default/services",
            """{"metadata":{"name":"9svc"},"spec":{"ports":[{"port":80}]}}""",
            "Service \"9svc\" is invalid: metadata.name: Invalid value: \"9svc\": " + Dns1035
        },
        {
            "/api/v1/namespaces/default/configmaps",
            """{"metadata":{"name":"c","labels":{"app":"-bad"}}}""",
            "ConfigMap \"c\" is invalid: metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        },
        {
            "/api/v1/namespaces/default/pods",
            """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"broker","image":"b:1","ports":[{"name":"kafka-replication","containerPort":9091}]}]}}""",
            "Pod \"p\" is invalid: spec.containers[0].ports[0].name: Invalid value: \"kafka-replication\": must be no more than 15 characters"
        },
        {
            "/api/v1/namespaces/default/pods",
            """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"broker"}]}}""",
            "Pod \"p\" is invalid: spec.containers[0].image: Required value"
        },
        {
            "/api/v1/namespaces/default/pods",
            """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"broker","image":"b:1","volumeMounts":[{"name":"data","mountPath":"/var/lib/kafka"}]}]}}""",
            "Pod \"p\" is invalid: spec.containers[0].volumeMounts[0].name: Not found: \"data\""
        },
        {
            "/api/v1/namespaces/default/pods",
            """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"broker","image":"b:1","resources":{"requests":{"cpu":"2","memory":"1Gi"},"limits":{"cpu":"1","memory":"2Gi"}}}]}}""",
            "Pod \"p\" is invalid: spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
        },
        {
            "/api/v1/namespaces/default/pods",
            """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"broker","image":"b:1","readinessProbe":{"exec":{"command":["true"]},"tcpSocket":{"port":9092}},"livenessProbe":{"periodSeconds":5}}]}}""",
            "Pod \"p\" is invalid: [spec.containers[0].livenessProbe: Required value: must specify a handler type, spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type]"
        },
        {
            "/api/v1/namespaces/default/pods",
            """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"broker","image":"b:1","readinessProbe":{"httpGet":{"path":"/v1/ready","port":0}}}]}}""",
            "Pod \"p\" is invalid: spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive"
        },
        {
            "/api/v1/namespaces/default/services",
            """{"metadata":{"name":"svc"},"spec":{"ports":[{"name":"plain","port":9092},{"name":"plain","port":9093}]}}""",
            "Service \"svc\" is invalid: spec.ports[1].name: Duplicate value: \"plain\""
        },
        {
            "/api/v1/namespaces/default/services",
            """{"metadata":{"name":"Bad"},"spec":{}}""",
            "Service \"Bad\" is invalid: [metadata.name: Invalid value: \"Bad\": " + Dns1035 + ", spec.ports: Required value]"
        },
        {
            "/apis/apps/v1/namespaces/default/statefulsets",
            """{"metadata":{"name":"s"},"spec":{"serviceName":"s","selector":{"matchLabels":{"app":"s"}},"template":{"metadata":{"labels":{"app":"other"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}""",
            "StatefulSet.apps \"s\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`"
        },
        {
            "/apis/apps/v1/namespaces/default/statefulsets",
            """{"metadata":{"name":"s"},"spec":{"serviceName":"s","template":{"metadata":{"labels":{"app":"s"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}""",
            "StatefulSet.apps \"s\" is invalid: spec.selector: Required value"
        },
        {
            "/apis/apps/v1/namespaces/default/statefulsets",
            """{"metadata":{"name":"s"},"spec":{"serviceName":"s","selector":{"matchLabels":{"app":"s"}},"template":{"metadata":{"labels":{"app":"s"}},"spec":{"activeDeadlineSeconds":5,"containers":[{"name":"c","image":"i"}]}}}}""",
            "StatefulSet.apps \"s\" is invalid: spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"
        },
        {
            "/apis/apps/v1/namespaces/default/statefulsets",
            """{"metadata":{"name":"kafka.brokers"},"spec":{"serviceName":"s","selector":{"matchLabels":{"app":"s"}},"template":{"metadata":{"labels":{"app":"s"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}""",
            "StatefulSet.apps \"kafka.brokers\" is invalid: metadata.name: Invalid value: \"kafka.brokers\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        },
        {
            Topics,
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"t"},"spec":{"partitions":"three"}}""",
            "KafkaTopic.kafka.example.io \"t\" is invalid: spec.partitions: Invalid value: \"string\": spec.partitions in body must be of type integer: \"string\""
        },
        {
            Topics,
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"t"},"spec":{"partitions":0}}""",
            "KafkaTopic.kafka.example.io \"t\" is invalid: spec.partitions: Invalid value: 0: spec.partitions in body should be greater than or equal to 1"
        },
        {
            Topics,
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"t"},"spec":{"partitions":2000}}""",
            "KafkaTopic.kafka.example.io \"t\" is invalid: spec.partitions: Invalid value: 2000: spec.partitions in body should be less than or equal to 1000"
        },
        {
            Topics,
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"t"},"spec":{"partitions":1,"cleanup":"forever"}}""",
            "KafkaTopic.kafka.example.io \"t\" is invalid: spec.cleanup: Unsupported value: \"forever\": supported values: \"delete\", \"compact\""
        },
        {
            Topics,
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"t"},"spec":{}}""",
            "KafkaTopic.kafka.example.io \"t\" is invalid: spec.partitions: Required value"
        },
        {
            Topics,
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"t"},"spec":{"partitions":1,"name":"UPPER"}}""",
            "KafkaTopic.kafka.example.io \"t\" is invalid: spec.name: Invalid value: \"UPPER\": spec.name in body should match '^[a-z.-]+$'"
        },
        {
            Topics,
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"t"},"spec":{"partitions":1,"retention":true}}""",
            "KafkaTopic.kafka.example.io \"t\" is invalid: spec.retention: Invalid value: \"boolean\": spec.retention in body must be of type integer,string: \"boolean\""
        },
        {
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            """{"metadata":{"name":"things.example.io"},"spec":{"group":"example.io","scope":"Namespaced","names":{"plural":"things","kind":"Thing"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"properties":{"size":{"type":"integer"}}}}}}}]}}""",
            "CustomResourceDefinition.apiextensions.k8s.io \"things.example.io\" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"
        },
    };

    [Theory]
    [MemberData(nameof(InvalidObjects))]
    public async Task Create_InvalidObject_Returns422WithApiServerMessage(string path, string body, string message)
    {
        using var raw = new Raw(fixture.Server);

        var (code, status) = await raw.PostAsync(path, body);

        Assert.Equal(422, code);
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.Equal(message, status["message"]!.GetValue<string>());
        var cause = status["details"]!["causes"]![0]!;
        var firstError = message[(message.IndexOf("is invalid: ", StringComparison.Ordinal) + 12)..].TrimStart('[');
        Assert.StartsWith(cause["field"]!.GetValue<string>() + ": " + cause["message"]!.GetValue<string>(), firstError);
    }

    [Fact]
    public async Task Update_StatefulSetServiceName_IsForbidden()
    {
        using var raw = new Raw(fixture.Server);
        var (created, _) = await raw.PostAsync("/apis/apps/v1/namespaces/default/statefulsets",
            """{"metadata":{"name":"immutable"},"spec":{"serviceName":"a","selector":{"matchLabels":{"app":"i"}},"template":{"metadata":{"labels":{"app":"i"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}""");
        Assert.Equal(201, created);

        var (code, status) = await raw.PatchAsync("/apis/apps/v1/namespaces/default/statefulsets/immutable", """{"spec":{"serviceName":"b"}}""", "application/merge-patch+json");

        Assert.Equal(422, code);
        Assert.Equal(
            "StatefulSet.apps \"immutable\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            status["message"]!.GetValue<string>());
        Assert.Equal("a", (await raw.GetAsync("/apis/apps/v1/namespaces/default/statefulsets/immutable")).Body["spec"]!["serviceName"]!.GetValue<string>());
    }

    [Fact]
    public async Task Update_ServiceClusterIp_IsRejectedAsImmutable()
    {
        using var raw = new Raw(fixture.Server);
        var (_, svc) = await raw.PostAsync("/api/v1/namespaces/default/services", """{"metadata":{"name":"fixed"},"spec":{"ports":[{"port":80}]}}""");
        var ip = svc["spec"]!["clusterIP"]!.GetValue<string>();
        Assert.StartsWith("10.96.", ip);

        var (code, status) = await raw.PatchAsync("/api/v1/namespaces/default/services/fixed", """{"spec":{"clusterIP":"10.96.200.200"}}""", "application/merge-patch+json");

        Assert.Equal(422, code);
        Assert.Equal("Service \"fixed\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.96.200.200\"}: may not change once set", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_CustomResourceWithUnknownFields_PrunesThemAndAppliesDefaults()
    {
        using var raw = new Raw(fixture.Server);

        var (code, topic) = await raw.PostAsync(Topics + "?dryRun=All",
            """{"apiVersion":"kafka.example.io/v1","kind":"KafkaTopic","metadata":{"name":"p"},"spec":{"partitions":1,"extra":{"a":1},"config":{"free":"form"},"retention":"7d"},"status":{"replicas":4}}""");

        Assert.Equal(201, code);
        Assert.Equal("""{"partitions":1,"config":{"free":"form"},"retention":"7d","replicas":3}""", topic["spec"]!.ToJsonString());
        Assert.Null(topic["status"]);
    }
}
