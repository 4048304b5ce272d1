using System.Diagnostics;
using k8s;
using k8s.Models;
using Kube.ApiServer;

namespace Operator.Chart.Tests;

/// <summary>
/// The rendered chart and its crds/ applied with the real kubectl (Go's YAML parser, server-side apply, strict
/// validation) to the in-process API server, as <c>helm template | kubectl apply</c> would. A missing kubectl fails.
/// </summary>
public sealed class KubectlApplyTests
{
    [Theory]
    [MemberData(nameof(ChartRenderTests.ValueSets), MemberType = typeof(ChartRenderTests))]
    public async Task KubectlApply_RenderedChartAndCrds_EveryObjectCreated(string overrides)
    {
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { RunControllers = false });
        using var client = server.CreateClient();
        foreach (var ns in new[] { "strimzi", "kafka-a", "kafka-b" })
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        }

        var dir = Directory.CreateTempSubdirectory("chart-kubectl-");
        try
        {
            var kubeconfig = Path.Combine(dir.FullName, "config");
            await File.WriteAllTextAsync(kubeconfig, server.KubeconfigYaml());
            var rendered = RenderedManifests.Chart.Render(RenderedManifests.Release, overrides)
                .Where(kv => kv.Key.EndsWith(".yaml", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value);
            var manifest = Path.Combine(dir.FullName, "chart.yaml");
            await File.WriteAllTextAsync(manifest, string.Join("\n---\n", rendered));

            var crds = await KubectlAsync(dir.FullName, kubeconfig, "apply", "--server-side", "--field-manager=helm", "--validate=strict", "-f", Path.Combine(HelmChart.ChartDirectory, "crds"));
            var output = await KubectlAsync(dir.FullName, kubeconfig, "apply", "--server-side", "--field-manager=helm", "--validate=strict", "-f", manifest);

            Assert.Equal(Operator.Api.StrimziCrds.All.Count, crds.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Equal(RenderedManifests.Render(overrides).Count, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Contains("deployment.apps/strimzi-cluster-operator serverside-applied", output, StringComparison.Ordinal);
            var deployment = await client.AppsV1.ReadNamespacedDeploymentAsync("strimzi-cluster-operator", "strimzi");
            Assert.Equal("strimzi-cluster-operator", deployment.Spec.Template.Spec.ServiceAccountName);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<string> KubectlAsync(string dir, string kubeconfig, params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--kubeconfig", kubeconfig, "--cache-dir", Path.Combine(dir, "cache") }.Concat(args))
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("kubectl did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
