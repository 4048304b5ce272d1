using k8s;
using Kube.PodRunner;
using Kube.HostShared;
using Microsoft.Extensions.Logging;

// Runs the pod runner against a kubeconfig (default .kube/config, as `make apiserver` writes it):
//   dotnet kube-pod-runner.dll [kubeconfig [network-name]]
// Every pod of that API server then runs as Docker containers on the network this prints (a new name unless one is
// given, as `make kube-local` does); Ctrl+C removes them all.
var kubeconfig = args.Length > 0 ? args[0] : Path.Combine(".kube", "config");
var options = new PodRunnerOptions();
if (args.Length > 1)
{
    options.NamePrefix = args[1];
}

using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
using var kube = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
await using var runner = await PodRunner.StartAsync(kube, options, loggerFactory);
Console.WriteLine($"pod runner watching {kube.BaseUri}; pods run on Docker network {runner.NetworkName} (node IP {runner.HostIp})");
Console.WriteLine("Ctrl+C (or SIGTERM) stops it and removes its containers, volumes and network.");
await StopSignal.WaitAsync();
