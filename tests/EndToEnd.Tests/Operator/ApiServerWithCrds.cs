using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Operator.Api;

namespace EndToEnd.Tests.Operator;

/// <summary>
/// The in-process API-server fixture (tests/Kube.ApiServer, on 127.0.0.1) with the repository's CRDs installed, one
/// namespace for the operator to watch, and a kubeconfig for it in a directory a container can mount (readable by
/// the image's non-root user). Owned by one test.
/// </summary>
internal sealed class ApiServerWithCrds : IAsyncDisposable
{
    public const string Namespace = "myproject";

    private readonly DirectoryInfo _kubeconfigDirectory;

    private ApiServerWithCrds(KubeApiServer server, DirectoryInfo kubeconfigDirectory)
    {
        Server = server;
        Client = server.CreateClient();
        _kubeconfigDirectory = kubeconfigDirectory;
    }

    public KubeApiServer Server { get; }

    public Kubernetes Client { get; }

    /// <summary>The directory holding <c>config</c>, the kubeconfig pointing at <see cref="Server"/>.</summary>
    public string KubeconfigDirectory => _kubeconfigDirectory.FullName;

    /// <param name="options">The API server's options (an audit hook, say).</param>
    /// <param name="kubeconfigUser">The bearer token the kubeconfig carries, the user the audit hook sees (any token is accepted).</param>
    public static async Task<ApiServerWithCrds> StartAsync(KubeApiServerOptions? options = null, string? kubeconfigUser = null)
    {
        var server = await KubeApiServer.StartAsync(options ?? new KubeApiServerOptions());
        var directory = Directory.CreateTempSubdirectory("e2e-kubeconfig-");
        var fixture = new ApiServerWithCrds(server, directory);
        try
        {
            foreach (var file in Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "crds"), "*.yaml").Order(StringComparer.Ordinal))
            {
                foreach (var doc in Manifests.ReadYaml(await File.ReadAllTextAsync(file)))
                {
                    await fixture.Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(KubernetesJson.Deserialize<V1CustomResourceDefinition>(doc.ToJsonString()));
                }
            }

            await fixture.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });

            var kubeconfig = Path.Combine(directory.FullName, "config");
            var yaml = server.KubeconfigYaml();
            await File.WriteAllTextAsync(kubeconfig, kubeconfigUser is null ? yaml : yaml.Replace(KubeApiServer.AnyToken, kubeconfigUser, StringComparison.Ordinal));
            if (!OperatingSystem.IsWindows())
            {
                // The operator image runs as uid 1001; a temp directory is private to its creator.
                File.SetUnixFileMode(directory.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                File.SetUnixFileMode(kubeconfig, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates every document of an example under examples/, as <c>kubectl apply -n</c> would.</summary>
    public async Task CreateExampleAsync(string path)
    {
        foreach (var doc in await ReadExampleAsync(path))
        {
            await CreateAsync(doc);
        }
    }

    /// <summary>The documents of an example under examples/, to change before creating them.</summary>
    public static async Task<IReadOnlyList<JsonObject>> ReadExampleAsync(string path) =>
        Manifests.ReadYaml(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "examples", path)));

    /// <summary>Creates one Strimzi custom resource in <see cref="Namespace"/>.</summary>
    public async Task CreateAsync(JsonObject doc)
    {
        var version = ((string)doc["apiVersion"]!).Split('/')[1];
        var plural = StrimziCrds.All.Single(c => c.Kind == (string?)doc["kind"]).Plural;
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(doc, StrimziGroup.Name, version, Namespace, plural);
    }

    /// <summary>A JSON merge patch of a Strimzi custom resource's spec (or anything else in <paramref name="patch"/>).</summary>
    public async Task MergePatchAsync(string plural, string name, string patch) =>
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), StrimziGroup.Name,
            StrimziGroup.StorageVersion, Namespace, plural, name);

    public async Task<Kafka> GetKafkaAsync(string name) =>
        JsonSerializer.SerializeToNode(await Client.CustomObjects.GetNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, Namespace, "kafkas", name))!
            .Deserialize<Kafka>(Manifests.JsonOptions)!;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        _kubeconfigDirectory.Delete(recursive: true);
    }
}
