using Broker.Cli;

// Socket completions run on the socket engine's own threads instead of being queued to the thread pool: a request is
// read, handled and answered on the thread epoll woke, which halved the replication p99 on two cores (each hand-off was a
// thread wake-up; docs/performance.md, session 10). Set before any socket exists, as the runtime reads it once;
// DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 in the environment keeps the thread-pool hand-off.
const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
}

return await CliApplication.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
