using System.Globalization;
using System.Net;
using System.Text;
using Broker.Cluster.Network;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cli;

/// <summary>
/// The admin tools' view of a cluster over the Kafka protocol: one connection to the first <c>--bootstrap-server</c>
/// endpoint that answers, and on demand one to a given broker (found in Metadata), for requests that only that broker
/// answers (DescribeConfigs and IncrementalAlterConfigs of its BROKER resource). Owned by one command invocation; not thread-safe.
/// </summary>
internal sealed class AdminClient : IAsyncDisposable
{
    public const int TimeoutMs = 30_000;

    private readonly IReadOnlyList<EndPoint> _endpoints;
    private readonly string _clientId;
    private readonly Dictionary<EndPoint, KafkaClientConnection> _connections = [];
    private EndPoint? _answering;

    private AdminClient(IReadOnlyList<EndPoint> endpoints, string clientId)
    {
        _endpoints = endpoints;
        _clientId = clientId;
    }

    /// <summary>Null (after writing why to <paramref name="error"/>) when <paramref name="bootstrap"/> is missing or not host:port,...</summary>
    public static AdminClient? TryCreate(string? bootstrap, string tool, TextWriter error)
    {
        if (string.IsNullOrWhiteSpace(bootstrap))
        {
            error.WriteLine("error: --bootstrap-server is required.");
            return null;
        }

        var endpoints = new List<EndPoint>();
        foreach (var raw in bootstrap.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TryParseEndpoint(raw, out var endpoint))
            {
                error.WriteLine($"error: '{raw}' is not host:port.");
                return null;
            }

            endpoints.Add(endpoint);
        }

        return endpoints.Count == 0 ? null : new AdminClient(endpoints, "kafka-broker-" + tool);
    }

    public static bool TryParseEndpoint(string raw, out EndPoint endpoint) => KafkaEndpoint.TryParse(raw, out endpoint);

    /// <summary>Sends to the bootstrap endpoint that answered last (or the first that answers).</summary>
    /// <exception cref="AdminException">No endpoint answered.</exception>
    public async Task<TResponse> SendAsync<TResponse>(IApiMessage request, short version, CancellationToken ct)
        where TResponse : IApiMessage, new()
    {
        var failures = new StringBuilder();
        foreach (var endpoint in _answering is null ? _endpoints : [_answering, .. _endpoints.Where(e => !e.Equals(_answering))])
        {
            try
            {
                var response = await SendToAsync<TResponse>(endpoint, request, version, ct).ConfigureAwait(false);
                _answering = endpoint;
                return response;
            }
            catch (AdminException e)
            {
                failures.Append(failures.Length == 0 ? "" : "; ").Append(e.Message);
            }
        }

        throw new AdminException($"no bootstrap server answered ({failures})");
    }

    /// <summary>Sends to broker <paramref name="nodeId"/>, whose address the cluster's Metadata gives.</summary>
    /// <exception cref="AdminException">The broker is not in the cluster or did not answer.</exception>
    public async Task<TResponse> SendToBrokerAsync<TResponse>(int nodeId, IApiMessage request, short version, CancellationToken ct)
        where TResponse : IApiMessage, new()
    {
        var metadata = await MetadataAsync(topics: [], ct).ConfigureAwait(false);
        var broker = metadata.Brokers.FirstOrDefault(b => b.NodeId == nodeId)
            ?? throw new AdminException($"broker {nodeId} is not in the cluster (brokers: {string.Join(",", metadata.Brokers.Select(b => b.NodeId).Order())})");
        var endpoint = IPAddress.TryParse(broker.Host, out var address) ? (EndPoint)new IPEndPoint(address, broker.Port) : new DnsEndPoint(broker.Host, broker.Port);
        return await SendToAsync<TResponse>(endpoint, request, version, ct).ConfigureAwait(false);
    }

    /// <summary>Metadata v12 of <paramref name="topics"/> (null: every topic), without creating any.</summary>
    public Task<MetadataResponse> MetadataAsync(IReadOnlyList<string>? topics, CancellationToken ct) =>
        SendAsync<MetadataResponse>(new MetadataRequest
        {
            Topics = topics is null ? null : [.. topics.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t })],
            AllowAutoTopicCreation = false,
        }, 12, ct);

    private async Task<TResponse> SendToAsync<TResponse>(EndPoint endpoint, IApiMessage request, short version, CancellationToken ct)
        where TResponse : IApiMessage, new()
    {
        if (!_connections.TryGetValue(endpoint, out var connection))
        {
            connection = new KafkaClientConnection(() => endpoint, new KafkaClientOptions(_clientId, TimeoutMs + 5000), TimeProvider.System, new Random(),
                NullLogger.Instance);
            _connections[endpoint] = connection;
        }

        try
        {
            using var response = await connection.SendAsync<TResponse>(request, version, ct).ConfigureAwait(false);
            return response.Message;
        }
        catch (Exception e) when (e is KafkaConnectionException or IOException or TimeoutException or System.Net.Sockets.SocketException or KafkaProtocolException)
        {
            throw new AdminException($"{endpoint}: {e.Message}", e);
        }
    }

    /// <summary>Kafka's name of an error code, e.g. UNKNOWN_TOPIC_OR_PARTITION.</summary>
    public static string ErrorName(short code)
    {
        if (!Enum.IsDefined((ErrorCode)code))
        {
            return $"error code {code}";
        }

        var name = ((ErrorCode)code).ToString();
        var text = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(name[i]));
        }

        return text.ToString();
    }

    /// <summary>"NAME: message" or just "NAME".</summary>
    public static string ErrorText(short code, string? message) =>
        string.IsNullOrEmpty(message) ? ErrorName(code) : $"{ErrorName(code)}: {message}";

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _connections.Clear();
    }
}

/// <summary>A failure an admin tool reports as "error: message" with exit code 1.</summary>
internal sealed class AdminException : Exception
{
    public AdminException(string message)
        : base(message)
    {
    }

    public AdminException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public AdminException()
    {
    }
}
