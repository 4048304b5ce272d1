using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using Broker.Cluster.Metadata;
using Broker.Cluster.Network;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Configuration;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker metadata-quorum</c>, in the shape of Kafka's <c>kafka-metadata-quorum.sh</c>: <c>describe --status</c>
/// or <c>--replication</c> (DescribeQuorum, voters with their directory ids), <c>add-controller</c> (AddRaftVoter for the
/// controller whose server.properties is <c>--command-config</c>) and <c>remove-controller</c> (RemoveRaftVoter), sent to
/// <c>--bootstrap-controller</c> (or <c>--bootstrap-server</c>); any controller forwards a change to the quorum leader.
/// Stateless; thread-safe.
/// </summary>
internal static class MetadataQuorumCommand
{
    private const int TimeoutMs = 30_000;

    public static Command Create()
    {
        // As in Kafka's tool the connection options may come before the subcommand (or after it).
        var controller = new Option<string?>("--bootstrap-controller")
        {
            Description = "Controller endpoints, host:port,... (the first that answers is used).",
            HelpName = "host:port",
            Recursive = true,
        };
        var server = new Option<string?>("--bootstrap-server")
        {
            Description = "Broker endpoints, host:port,... (instead of --bootstrap-controller).",
            HelpName = "host:port",
            Recursive = true,
        };
        var config = new Option<string?>("--command-config")
        {
            Description = "add-controller: the new controller's server.properties (node.id, controller listeners, metadata.log.dir).",
            HelpName = "path",
            Recursive = true,
        };
        var command = new Command("metadata-quorum", "Describe the KRaft metadata quorum and change its voters, like Kafka's kafka-metadata-quorum tool.");
        command.Options.Add(controller);
        command.Options.Add(server);
        command.Options.Add(config);
        command.Subcommands.Add(CreateDescribe(controller, server));
        command.Subcommands.Add(CreateAddController(controller, server, config));
        command.Subcommands.Add(CreateRemoveController(controller, server));
        return command;
    }

    private static Command CreateDescribe(Option<string?> controller, Option<string?> server)
    {
        var status = new Option<bool>("--status") { Description = "The leader, epoch, high watermark, lag and the voters and observers." };
        var replication = new Option<bool>("--replication") { Description = "One row per voter and observer: end offset, lag, fetch times." };
        var command = new Command("describe", "Describe the quorum as its leader sees it (DescribeQuorum).");
        command.Options.Add(status);
        command.Options.Add(replication);
        command.SetAction((result, ct) => DescribeAsync(result.GetValue(controller) ?? result.GetValue(server), result.GetValue(status),
            result.GetValue(replication), result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct));
        return command;
    }

    private static Command CreateAddController(Option<string?> controller, Option<string?> server, Option<string?> config)
    {
        var command = new Command("add-controller", "Add a caught-up observer controller to the voters (AddRaftVoter); needs --command-config.");
        command.SetAction((result, ct) => AddControllerAsync(result.GetValue(controller) ?? result.GetValue(server), result.GetValue(config),
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct));
        return command;
    }

    private static Command CreateRemoveController(Option<string?> controller, Option<string?> server)
    {
        var id = new Option<int>("--controller-id") { Description = "The voter's node id.", Required = true, HelpName = "id" };
        var directory = new Option<string>("--controller-directory-id")
        {
            Description = "The voter's metadata log directory id (see describe --status).",
            Required = true,
            HelpName = "uuid",
        };
        var command = new Command("remove-controller", "Remove a voter from the quorum (RemoveRaftVoter).");
        command.Options.Add(id);
        command.Options.Add(directory);
        command.SetAction((result, ct) => RemoveControllerAsync(result.GetValue(controller) ?? result.GetValue(server), result.GetValue(id),
            result.GetValue(directory)!, result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct));
        return command;
    }

    /// <summary>0 when described, 1 when no endpoint answered without error, 2 on bad arguments.</summary>
    internal static async Task<int> DescribeAsync(string? bootstrap, bool status, bool replication, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        if (!TryParseBootstrap(bootstrap, error, out var endpoints))
        {
            return CliApplication.ConfigErrorExitCode;
        }

        if (status == replication)
        {
            await error.WriteLineAsync("error: give exactly one of --status and --replication.").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic.TopicName, Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        };

        // Only the leader answers DescribeQuorum: ask each endpoint until one does.
        string? last = null;
        foreach (var endpoint in endpoints)
        {
            var response = await SendAsync<DescribeQuorumResponse>(endpoint, request, 2, error, ct).ConfigureAwait(false);
            if (response is null)
            {
                continue;
            }

            if (response.Topics is [{ Partitions: [var partition, ..] }, ..] && response.ErrorCode == 0 && partition.ErrorCode == 0)
            {
                await output.WriteAsync(status ? FormatStatus(response, partition) : FormatReplication(partition)).ConfigureAwait(false);
                return 0;
            }

            last = ErrorText(response.Topics is [{ Partitions: [var p, ..] }, ..] && p.ErrorCode != 0 ? p.ErrorCode : response.ErrorCode);
        }

        await error.WriteLineAsync($"error: no endpoint of {bootstrap} described the quorum{(last is null ? "" : $" (last answer: {last})")}.")
            .ConfigureAwait(false);
        return 1;
    }

    /// <summary>0 when added, 1 when refused or unreachable, 2 on bad arguments or configuration.</summary>
    internal static async Task<int> AddControllerAsync(string? bootstrap, string? commandConfig, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (!TryParseBootstrap(bootstrap, error, out var endpoints))
        {
            return CliApplication.ConfigErrorExitCode;
        }

        if (commandConfig is null)
        {
            await error.WriteLineAsync("error: add-controller needs --command-config, the new controller's server.properties.").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        BrokerConfig config;
        try
        {
            config = BrokerConfig.Load(commandConfig, new Dictionary<string, string>(), new Dictionary<string, string>(), NullLogger<BrokerConfig>.Instance);
        }
        catch (ConfigException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        if (!config.HasControllerRole || LogDirFormat.Read(config.MetadataLogDir) is not { } identity)
        {
            await error.WriteLineAsync($"error: {commandConfig} is not a controller with a formatted metadata.log.dir ({config.MetadataLogDir}).")
                .ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        var request = new AddRaftVoterRequest { ClusterId = identity.ClusterId, TimeoutMs = TimeoutMs, VoterId = config.NodeId, VoterDirectoryId = identity.DirectoryId };
        foreach (var listener in config.Listeners)
        {
            if (config.ControllerListenerNames.Contains(listener.Name, StringComparer.OrdinalIgnoreCase))
            {
                var host = listener.Host is "" or "0.0.0.0" or "::" ? "localhost" : listener.Host;
                request.Listeners.Add(new AddRaftVoterRequest.Listener { Name = listener.Name, Host = host, Port = (ushort)listener.Port });
            }
        }

        if (request.Listeners.Count == 0)
        {
            await error.WriteLineAsync($"error: {commandConfig} defines no controller listener.").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        var code = await SendChangeAsync<AddRaftVoterResponse>(endpoints, request, r => (r.ErrorCode, r.ErrorMessage), error, ct).ConfigureAwait(false);
        if (code == 0)
        {
            await output.WriteLineAsync($"Added controller {config.NodeId} with directory id {identity.DirectoryIdText} and endpoints: "
                + string.Join(", ", request.Listeners.Select(l => $"{l.Name}://{l.Host}:{l.Port}"))).ConfigureAwait(false);
        }

        return code == 0 ? 0 : 1;
    }

    /// <summary>0 when removed, 1 when refused or unreachable, 2 on bad arguments.</summary>
    internal static async Task<int> RemoveControllerAsync(string? bootstrap, int id, string directoryId, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        if (!TryParseBootstrap(bootstrap, error, out var endpoints))
        {
            return CliApplication.ConfigErrorExitCode;
        }

        if (!LogDirFormat.TryParseUuid(directoryId, out var directory))
        {
            await error.WriteLineAsync($"error: --controller-directory-id '{directoryId}' is not a directory id (base64url uuid).").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        var request = new RemoveRaftVoterRequest { ClusterId = null, VoterId = id, VoterDirectoryId = directory };
        var code = await SendChangeAsync<RemoveRaftVoterResponse>(endpoints, request, r => (r.ErrorCode, r.ErrorMessage), error, ct).ConfigureAwait(false);
        if (code == 0)
        {
            await output.WriteLineAsync($"Removed controller {id} with directory id {directoryId}.").ConfigureAwait(false);
        }

        return code == 0 ? 0 : 1;
    }

    /// <summary>Sends the change to the first endpoint that answers; returns its error code, or -1 when none answered.</summary>
    private static async Task<short> SendChangeAsync<TResponse>(IReadOnlyList<EndPoint> endpoints, IApiMessage request,
        Func<TResponse, (short Code, string? Message)> result, TextWriter error, CancellationToken ct)
        where TResponse : class, IApiMessage, new()
    {
        foreach (var endpoint in endpoints)
        {
            if (await SendAsync<TResponse>(endpoint, request, 0, error, ct).ConfigureAwait(false) is not { } response)
            {
                continue;
            }

            var (code, message) = result(response);
            if (code != 0)
            {
                await error.WriteLineAsync($"error: {ErrorText(code)}{(string.IsNullOrEmpty(message) ? "" : ": " + message)}").ConfigureAwait(false);
            }

            return code;
        }

        await error.WriteLineAsync("error: no endpoint answered.").ConfigureAwait(false);
        return -1;
    }

    private static async Task<TResponse?> SendAsync<TResponse>(EndPoint endpoint, IApiMessage request, short version, TextWriter error, CancellationToken ct)
        where TResponse : class, IApiMessage, new()
    {
        await using var connection = new KafkaClientConnection(() => endpoint, new KafkaClientOptions("kafka-broker-metadata-quorum", TimeoutMs + 5000),
            TimeProvider.System, new Random(), NullLogger.Instance);
        try
        {
            using var response = await connection.SendAsync<TResponse>(request, version, ct).ConfigureAwait(false);
            return response.Message;
        }
        catch (Exception e) when (e is KafkaConnectionException or IOException or TimeoutException or System.Net.Sockets.SocketException or KafkaProtocolException)
        {
            await error.WriteLineAsync($"{endpoint}: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }

    private static bool TryParseBootstrap(string? bootstrap, TextWriter error, out List<EndPoint> endpoints)
    {
        endpoints = [];
        if (string.IsNullOrWhiteSpace(bootstrap))
        {
            error.WriteLine("error: give --bootstrap-controller (or --bootstrap-server).");
            return false;
        }

        foreach (var raw in bootstrap.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!AdminClient.TryParseEndpoint(raw, out var endpoint))
            {
                error.WriteLine($"error: '{raw}' is not host:port.");
                return false;
            }

            endpoints.Add(endpoint);
        }

        return endpoints.Count > 0;
    }

    private static string ErrorText(short code) =>
        Enum.IsDefined((ErrorCode)code) ? $"{(ErrorCode)code} ({code})" : code switch
        {
            126 => "DUPLICATE_VOTER (126)",
            127 => "VOTER_NOT_FOUND (127)",
            _ => $"error code {code}",
        };

    private static string FormatStatus(DescribeQuorumResponse response, DescribeQuorumResponse.PartitionData partition)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var leader = partition.CurrentVoters.FirstOrDefault(v => v.ReplicaId == partition.LeaderId);
        var leaderEnd = leader?.LogEndOffset ?? partition.HighWatermark;
        long maxLag = 0;
        long maxLagMs = 0;
        foreach (var voter in partition.CurrentVoters)
        {
            maxLag = Math.Max(maxLag, leaderEnd - voter.LogEndOffset);
            if (voter.LastCaughtUpTimestamp >= 0)
            {
                maxLagMs = Math.Max(maxLagMs, now - voter.LastCaughtUpTimestamp);
            }
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"LeaderId:               {partition.LeaderId}\n");
        text.Append(CultureInfo.InvariantCulture, $"LeaderEpoch:            {partition.LeaderEpoch}\n");
        text.Append(CultureInfo.InvariantCulture, $"HighWatermark:          {partition.HighWatermark}\n");
        text.Append(CultureInfo.InvariantCulture, $"MaxFollowerLag:         {maxLag}\n");
        text.Append(CultureInfo.InvariantCulture, $"MaxFollowerLagTimeMs:   {maxLagMs}\n");
        text.Append("CurrentVoters:          [").Append(string.Join(", ", partition.CurrentVoters.Select(v => Replica(v, response)))).Append("]\n");
        text.Append("CurrentObservers:       [").Append(string.Join(", ", partition.Observers.Select(v => Replica(v, response)))).Append("]\n");
        return text.ToString();
    }

    /// <summary>Kafka 4's form: {"id": 1, "directoryId": "...", "endpoints": ["CONTROLLER://host:port"]}.</summary>
    private static string Replica(DescribeQuorumResponse.ReplicaState replica, DescribeQuorumResponse response)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{{\"id\": {replica.ReplicaId}");
        if (replica.ReplicaDirectoryId != Guid.Empty)
        {
            text.Append(CultureInfo.InvariantCulture, $", \"directoryId\": \"{LogDirFormat.FormatUuid(replica.ReplicaDirectoryId)}\"");
        }

        if (response.Nodes.FirstOrDefault(n => n.NodeId == replica.ReplicaId) is { } node)
        {
            text.Append(", \"endpoints\": [").Append(string.Join(", ", node.Listeners.Select(l => $"\"{l.Name}://{l.Host}:{l.Port}\""))).Append(']');
        }

        return text.Append('}').ToString();
    }

    private static string FormatReplication(DescribeQuorumResponse.PartitionData partition)
    {
        var leaderEnd = partition.CurrentVoters.FirstOrDefault(v => v.ReplicaId == partition.LeaderId)?.LogEndOffset ?? partition.HighWatermark;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{"NodeId",-8}{"DirectoryId",-24}{"LogEndOffset",-14}{"Lag",-8}{"LastFetchTimestamp",-20}{"LastCaughtUpTimestamp",-23}Status\n");
        foreach (var (replica, role) in partition.CurrentVoters.Select(v => (v, v.ReplicaId == partition.LeaderId ? "Leader" : "Follower"))
                     .Concat(partition.Observers.Select(o => (o, "Observer"))))
        {
            var directory = replica.ReplicaDirectoryId == Guid.Empty ? "-" : LogDirFormat.FormatUuid(replica.ReplicaDirectoryId);
            text.Append(CultureInfo.InvariantCulture,
                $"{replica.ReplicaId,-8}{directory,-24}{replica.LogEndOffset,-14}{leaderEnd - replica.LogEndOffset,-8}{replica.LastFetchTimestamp,-20}{replica.LastCaughtUpTimestamp,-23}{role}\n");
        }

        return text.ToString();
    }
}
