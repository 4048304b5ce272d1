using System.CommandLine;
using Broker.Cli.Perf;

namespace Broker.Cli;

/// <summary>
/// The <c>kafka-broker</c> command tree: <c>start</c> runs a broker, <c>storage</c> formats its directories, <c>health</c> asks
/// a local broker whether it is ready, <c>metadata-quorum</c>, <c>topics</c>, <c>consumer-groups</c>, <c>configs</c> and
/// <c>reassign-partitions</c> administer a cluster as Kafka's tools of those names do, <c>perf produce</c>, <c>perf consume</c>
/// and <c>perf fetch</c> measure one, <c>verifiable-producer</c> feeds a correctness checker. Stateless; thread-safe.
/// </summary>
internal static class CliApplication
{
    /// <summary>Exit code of a configuration or usage error.</summary>
    public const int ConfigErrorExitCode = 2;

    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("A Kafka-compatible broker and its tools.");
        root.Subcommands.Add(StartCommand.Create());
        root.Subcommands.Add(StorageCommand.Create());
        root.Subcommands.Add(HealthCommand.Create());
        root.Subcommands.Add(MetadataQuorumCommand.Create());
        root.Subcommands.Add(TopicsCommand.Create());
        root.Subcommands.Add(ConsumerGroupsCommand.Create());
        root.Subcommands.Add(ConfigsCommand.Create());
        root.Subcommands.Add(ReassignPartitionsCommand.Create());
        var perf = new Command("perf", "Measure a running broker with a librdkafka client, like Kafka's perf-test tools.");
        perf.Subcommands.Add(new ProducePerfCommand().Command);
        perf.Subcommands.Add(new ConsumePerfCommand().Command);
        perf.Subcommands.Add(new FetchPerfCommand().Command);
        root.Subcommands.Add(perf);
        root.Subcommands.Add(new VerifiableProducerCommand().Command);
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>. The first SIGINT or SIGTERM cancels the running command, which
    /// then stops gracefully; a second one terminates the process.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,

            // ShutdownSignal owns SIGINT/SIGTERM so that the command decides how long a graceful stop takes.
            ProcessTerminationTimeout = null,
        };

        using var shutdown = ShutdownSignal.Register();
        var parsed = BuildRootCommand().Parse(args);
        return await parsed.InvokeAsync(invocation, shutdown.Token).ConfigureAwait(false);
    }
}
