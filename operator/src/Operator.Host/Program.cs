using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Operator.Host;

// The cluster operator: STRIMZI_NAMESPACE's Kafka clusters, reconciled while this instance holds the lease.
using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
return await ClusterOperatorHost.RunAsync(Environment.GetEnvironmentVariable, loggers, stop.Token);
