using System.Net;
using System.Text.Json.Nodes;
using k8s;
using Kube.ApiServer.Api;
using Kube.ApiServer.Controllers;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Http;
using Kube.ApiServer.Patch;
using Kube.ApiServer.Storage;
using Kube.ApiServer.Table;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kube.ApiServer;

/// <summary>
/// An in-process Kubernetes API server on 127.0.0.1 (plain HTTP, no authentication) for operator tests,
/// usable by KubernetesClient and kubectl through a kubeconfig. Thread-safe.
/// </summary>
public sealed class KubeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ResourceService _service;
    private readonly ControllerLoop? _controllers;
    private readonly WatchStreamer _watch;

    private KubeApiServer(WebApplication app, ResourceService service, ControllerLoop? controllers, WatchStreamer watch, Uri baseUri)
    {
        _app = app;
        _service = service;
        _controllers = controllers;
        _watch = watch;
        BaseUri = baseUri;
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri BaseUri { get; }

    /// <summary>The resourceVersion of the last committed write.</summary>
    public long CurrentResourceVersion => _service.Store.CurrentResourceVersion;

    public static async Task<KubeApiServer> StartAsync(KubeApiServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new KubeApiServerOptions();
        var registry = new ResourceRegistry();
        var store = new ObjectStore(options.EventHistory);
        var random = options.RandomSeed is { } seed ? new Random(seed) : new Random();
        var service = new ResourceService(store, registry, options.Time, random);
        var apply = new ServerSideApply(service);
        service.FieldManager = apply;
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            service.Create(registry.Find("", "v1", "namespaces")!, "", new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } });
        }
        var table = new TableConverter(options.Time);
        var watch = new WatchStreamer(service, table, options.Time, options.BookmarkInterval);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, NoSignalLifetime>();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, options.Port));
        var app = builder.Build();
        string address = "";
        var handler = new ApiHandler(service, watch, table, apply, () => address);
        if (options.Audit is { } audit)
        {
            app.Use(async (ctx, next) =>
            {
                if (AuditEvent.From(ctx.Request) is { } record)
                {
                    audit(record);
                }

                await next(ctx).ConfigureAwait(false);
            });
        }

        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var baseUri = new Uri(url.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        address = baseUri.Authority;
        var controllers = options.RunControllers ? new ControllerLoop(service) : null;
        return new KubeApiServer(app, service, controllers, watch, baseUri);
    }

    /// <summary>The placeholder token of <see cref="KubeconfigYaml"/>; any other token is accepted too and names the user the audit hook sees.</summary>
    public const string AnyToken = "kube-fixture-accepts-anything";

    /// <summary>
    /// A kubeconfig (YAML) whose current context points at this server. The server checks no credentials, but the
    /// user carries a placeholder token (<see cref="AnyToken"/>): KubernetesClient refuses a kubeconfig user without any.
    /// </summary>
    public string KubeconfigYaml(string contextName = "kube-fixture") =>
        $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: {contextName}
          cluster:
            server: {BaseUri.ToString().TrimEnd('/')}
        users:
        - name: {contextName}
          user:
            token: {AnyToken}
        contexts:
        - name: {contextName}
          context:
            cluster: {contextName}
            user: {contextName}
            namespace: default
        current-context: {contextName}

        """;

    public void WriteKubeconfig(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        File.WriteAllText(path, KubeconfigYaml());
    }

    /// <summary>A KubernetesClient client for this server.</summary>
    public Kubernetes CreateClient() => new(new KubernetesClientConfiguration { Host = BaseUri.ToString().TrimEnd('/') });

    /// <summary>Sets a pod's phase (as the kubelet would report it).</summary>
    public Task SetPodPhaseAsync(string ns, string name, string phase) => UpdatePodStatus(ns, name, status => status["phase"] = phase);

    /// <summary>Marks a pod Running with the Ready and ContainersReady conditions set to <paramref name="ready"/>.</summary>
    public Task SetPodReadyAsync(string ns, string name, bool ready = true) => UpdatePodStatus(ns, name, status =>
    {
        var now = _service.Now();
        var value = ready ? "True" : "False";
        status["phase"] = "Running";
        var conditions = status["conditions"] as JsonArray ?? new JsonArray();
        foreach (var type in new[] { "Ready", "ContainersReady" })
        {
            var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type);
            if (existing is null)
            {
                conditions.Add(new JsonObject { ["type"] = type, ["status"] = value, ["lastProbeTime"] = null, ["lastTransitionTime"] = now });
            }
            else if (existing["status"]?.GetValue<string>() != value)
            {
                existing["status"] = value;
                existing["lastTransitionTime"] = now;
            }
        }
        status["conditions"] = conditions;
    });

    /// <summary>Sets or replaces one pod condition.</summary>
    public Task SetPodConditionAsync(string ns, string name, string type, bool value, string? reason = null) => UpdatePodStatus(ns, name, status =>
    {
        var conditions = status["conditions"] as JsonArray ?? new JsonArray();
        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type);
        if (existing is not null)
        {
            conditions.Remove(existing);
        }
        var condition = new JsonObject { ["type"] = type, ["status"] = value ? "True" : "False", ["lastTransitionTime"] = _service.Now() };
        if (reason is not null)
        {
            condition["reason"] = reason;
        }
        conditions.Add(condition);
        status["conditions"] = conditions;
    });

    /// <summary>Ends every open watch stream (clients see the stream close and must resume), like an apiserver restart.</summary>
    public void DisconnectWatches() => _watch.DisconnectAll();

    /// <summary>Forgets all watch history up to now, so resuming from any earlier resourceVersion yields 410 Gone.</summary>
    public void CompactHistory() => _service.Store.CompactThrough(_service.Store.CurrentResourceVersion);

    private Task UpdatePodStatus(string ns, string name, Action<JsonObject> change)
    {
        var pods = _service.Registry.Find("", "v1", "pods")!;
        _service.Store.Transact(txn =>
        {
            var pod = txn.Get(pods.StorageKey, ns, name) ?? throw ApiError.NotFound(pods, name);
            var status = pod["status"] as JsonObject ?? new JsonObject();
            change(status);
            pod["status"] = status;
            return _service.UpdateIn(txn, pods, ns, name, pod, status: true, allowCreate: false, manager: "kubelet");
        });
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_controllers is not null)
        {
            await _controllers.DisposeAsync().ConfigureAwait(false);
        }
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
