using System.Globalization;
using Kube.ApiServer;
using Kube.HostShared;

// Runs the fixture standalone: `make apiserver` (or `dotnet kube-apiserver-fixture.dll [port] [kubeconfig]`).
var port = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 0;
var kubeconfig = args.Length > 1 ? args[1] : Path.Combine(".kube", "config");
await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { Port = port });
server.WriteKubeconfig(kubeconfig);
Console.WriteLine($"kube-apiserver fixture listening on {server.BaseUri}");
Console.WriteLine($"kubeconfig written to {Path.GetFullPath(kubeconfig)}; try: kubectl --kubeconfig {kubeconfig} get namespaces");
Console.WriteLine("Ctrl+C stops it.");
await StopSignal.WaitAsync();
