using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Microsoft.Extensions.Logging.Abstractions;
using Operator.Api;
using Microsoft.Extensions.Logging;
using Operator.Certificates;
using Operator.Kube;

namespace Operator.Reconcilers.Tests;

/// <summary>
/// An in-process API server with the repository's CRDs, and the cluster operator's wiring (informers, controller,
/// applier) running against it for one namespace. One per test.
/// </summary>
internal sealed class OperatorFixture : IAsyncDisposable
{
    public const string Namespace = "myproject";
    /// <summary>
    /// Upper bound of every wait (polls return as soon as the condition holds): generous because a first reconcile
    /// generates a dozen RSA keys, and these tests share two cores with parallel builds (load averages above 20 seen).
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Certificate settings of the tests: 1024-bit keys, because key generation dominates a first reconcile on a busy
    /// machine and the size changes nothing the tests look at (the certificate library's own tests use 2048).
    /// </summary>
    public static readonly CertificateOptions TestCertificates = new() { CaKeySize = 1024, LeafKeySize = 1024 };

    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    private OperatorFixture(KubeApiServer server, Kubernetes client, ShiftedClock clock, IClusterAdmin? admin)
    {
        Server = server;
        Client = client;
        Clock = clock;
        Operator = new ClusterOperator(client, new ClusterOperatorOptions(Namespace)
        {
            Informers = new InformerOptions { ResyncPeriod = TimeSpan.Zero, InitialBackoff = TimeSpan.FromMilliseconds(20) },
            Kafka = new KafkaReconcilerOptions
            {
                PodWaitInterval = TimeSpan.FromMilliseconds(200),
                Certificates = TestCertificates,
                Admin = admin ?? NoCluster,
            },
            PodSets = new StrimziPodSetControllerOptions { PodWaitInterval = TimeSpan.FromMilliseconds(200) },
        }, clock, new Random(42), Loggers);
    }

    /// <summary>The operator's clock: the system's, which a test can move forward (certificate renewal).</summary>
    public ShiftedClock Clock { get; }

    /// <summary>Silent, unless OPERATOR_TEST_LOG is set (then debug logs go to the console).</summary>
    public static ILoggerFactory Loggers { get; } = Environment.GetEnvironmentVariable("OPERATOR_TEST_LOG") is null
        ? NullLoggerFactory.Instance
        : LoggerFactory.Create(b => b.AddConsole().SetMinimumLevel(LogLevel.Debug));

    public KubeApiServer Server { get; }

    public Kubernetes Client { get; }

    public ClusterOperator Operator { get; }

    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The Admin calls of a fixture started without a cluster: nothing listens at 127.0.0.1:1, so a reconcile that needs
    /// to ask the brokers (a scale-down) fails loudly instead of reaching some other address.
    /// </summary>
    public static IClusterAdmin NoCluster { get; } = new KafkaProtocolAdmin((_, _) => "127.0.0.1:1", TimeSpan.FromSeconds(5));

    /// <param name="runOperator">Start the cluster operator's wiring in process (false: the test runs its own).</param>
    /// <param name="admin">Where the operator's Admin calls go (a <see cref="TestBroker"/>); <see cref="NoCluster"/> by default.</param>
    public static async Task<OperatorFixture> StartAsync(bool runOperator = true, IClusterAdmin? admin = null)
    {
        var server = await KubeApiServer.StartAsync();
        var client = server.CreateClient();
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "crds"), "*.yaml").Order(StringComparer.Ordinal))
        {
            foreach (var doc in Manifests.ReadYaml(await File.ReadAllTextAsync(file)))
            {
                await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(KubernetesJson.Deserialize<V1CustomResourceDefinition>(doc.ToJsonString()));
            }
        }

        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
        var fixture = new OperatorFixture(server, client, new ShiftedClock(), admin);
        if (runOperator)
        {
            fixture._run = fixture.Operator.RunAsync(fixture._stop.Token);
        }

        return fixture;
    }

    /// <summary>Creates every document of an example (or of <paramref name="yaml"/>), as kubectl apply would.</summary>
    public async Task CreateAsync(IEnumerable<JsonObject> documents, string ns = Namespace)
    {
        foreach (var doc in documents.Select(d => (JsonObject)WithoutNulls(d)!))
        {
            var apiVersion = (string)doc["apiVersion"]!;
            var plural = StrimziCrds.All.Single(c => c.Kind == (string?)doc["kind"]).Plural;
            await Client.CustomObjects.CreateNamespacedCustomObjectAsync(doc, StrimziGroup.Name, apiVersion.Split('/')[1], ns, plural);
        }
    }

    /// <summary>kubectl drops null fields (the seed's <c>kafkaExporter:</c>) before sending; so does this fixture.</summary>
    private static JsonNode? WithoutNulls(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(p => p.Value is not null).Select(p => KeyValuePair.Create(p.Key, WithoutNulls(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(WithoutNulls)]),
        _ => node?.DeepClone(),
    };

    public static IReadOnlyList<JsonObject> Example(string path) => Manifests.ReadYaml(File.ReadAllText(Path.Combine(Root, "examples", path)));

    public async Task<Kafka> GetKafkaAsync(string name, string ns = Namespace) =>
        JsonSerializer.SerializeToNode(await Client.CustomObjects.GetNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, ns, "kafkas", name))!
            .Deserialize<Kafka>(Manifests.JsonOptions)!;

    public async Task<KafkaNodePool> GetPoolAsync(string name) =>
        JsonSerializer.SerializeToNode(await Client.CustomObjects.GetNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, Namespace, "kafkanodepools", name))!
            .Deserialize<KafkaNodePool>(Manifests.JsonOptions)!;

    public async Task<StrimziPodSet> GetPodSetAsync(string name, string ns = Namespace) =>
        JsonSerializer.SerializeToNode(await Client.CustomObjects.GetNamespacedCustomObjectAsync(CoreStrimziGroup.Name, CoreStrimziGroup.StorageVersion, ns,
            "strimzipodsets", name))!.Deserialize<StrimziPodSet>(Manifests.JsonOptions)!;

    /// <summary>The StrimziPodSets of a namespace (optionally by label selector).</summary>
    public async Task<List<StrimziPodSet>> ListPodSetsAsync(string ns = Namespace, string? labelSelector = null) =>
        [.. JsonSerializer.SerializeToNode(await Client.CustomObjects.ListNamespacedCustomObjectAsync(CoreStrimziGroup.Name, CoreStrimziGroup.StorageVersion, ns,
            "strimzipodsets", labelSelector: labelSelector))!["items"]!.AsArray().Select(i => i!.Deserialize<StrimziPodSet>(Manifests.JsonOptions)!)];

    /// <summary>Polls until <paramref name="probe"/> returns a value satisfying <paramref name="condition"/>, with a deadline.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var value = await probe();
            if (condition(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}; last value: {JsonSerializer.Serialize(value, Manifests.JsonOptions)}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Timeout);
        Operator.Dispose();
        Client.Dispose();
        await Server.DisposeAsync();
        _stop.Dispose();
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Operator.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Operator.sln not found above the test binaries.");
    }
}

/// <summary>
/// System time plus an offset a test moves forward; timers and timestamps stay the system's, so work queue delays and
/// informer backoffs behave normally while certificate validity sees the shifted date. Thread-safe.
/// </summary>
internal sealed class ShiftedClock : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}
