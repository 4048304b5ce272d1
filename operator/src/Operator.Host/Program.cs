using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Operator.Host;

// The cluster operator: STRIMZI_NAMESPACE's Kafka clusters, reconciled while this instance holds the lease.
// STRIMZI_LOG_LEVEL takes Strimzi's (log4j) level names; an unknown one falls back to INFO.
var level = (Environment.GetEnvironmentVariable("STRIMZI_LOG_LEVEL") ?? "INFO").Trim().ToUpperInvariant() switch
{
    "ALL" or "TRACE" => LogLevel.Trace,
    "DEBUG" => LogLevel.Debug,
    "WARN" => LogLevel.Warning,
    "ERROR" => LogLevel.Error,
    "FATAL" => LogLevel.Critical,
    "OFF" => LogLevel.None,
    _ => LogLevel.Information,
};
using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(level));
using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
return await ClusterOperatorHost.RunAsync(Environment.GetEnvironmentVariable, loggers, stop.Token);
