using System.Collections.Concurrent;
using System.Net;
using Broker.Cluster.Metadata;
using Broker.Cluster.Network;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Raft;

/// <summary>
/// Binds a node's <see cref="RaftMetadataStore"/> to the network (docs/raft.md, "Binding"): a driver loop calls
/// <see cref="RaftMetadataStore.Poll"/> at the deadline it returns or sooner when woken; outbound requests go to the
/// voters' <c>controller.quorum.voters</c> endpoints over one <see cref="KafkaClientConnection"/> per voter, and their
/// responses are fed back with the request's correlation id; inbound requests from the Raft handlers get a correlation id
/// from a range the replica never uses and are answered through a completion the handler awaits, so no connection loop
/// blocks on the quorum.
/// </summary>
/// <remarks>
/// Thread-safe: the store serialises every call into the replica under its lock; this class only keeps concurrent maps
/// of connections and inbound completions.
/// </remarks>
internal sealed partial class RaftNetworkDriver : IAsyncDisposable
{
    // The replica draws its own correlation ids from [1, long.MaxValue / 2); inbound requests use the upper half.
    private long _nextInboundId = long.MaxValue / 2;

    private readonly int _nodeId;
    private readonly QuorumConfig _config;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly MetadataSnapshotPolicy? _snapshots;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<IApiMessage>> _inbound = new();
    private readonly ConcurrentDictionary<int, KafkaClientConnection> _connections = new();
    private readonly ConcurrentDictionary<int, (string Host, int Port)> _learned = new();
    private readonly ConcurrentDictionary<int, KafkaClientConnection> _forwarding = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stopping = new();
    private RaftMetadataStore? _store;
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    /// <param name="snapshots">When the store snapshots its image; Kafka's defaults when null.</param>
    public RaftNetworkDriver(int nodeId, QuorumConfig config, TimeProvider time, ILoggerFactory loggerFactory, MetadataSnapshotPolicy? snapshots = null)
    {
        _nodeId = nodeId;
        _snapshots = snapshots;
        _config = config;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<RaftNetworkDriver>();
    }

    /// <summary>The store, once <see cref="Open"/> returned.</summary>
    public RaftMetadataStore Store => _store ?? throw new InvalidOperationException("The quorum is not open.");

    /// <summary>The quorum leader this node knows of, or -1.</summary>
    public int LeaderId => _store is { } store ? store.State.LeaderId : -1;

    public QuorumConfig Config => _config;

    /// <summary>Opens the metadata partition and its quorum-state and starts the driver loop.</summary>
    public RaftMetadataStore Open(LogManager logs)
    {
        _store = RaftMetadataStore.Open(logs, _nodeId, _config, _time, Send, _loggerFactory.CreateLogger<RaftMetadataStore>(), snapshots: _snapshots);
        _loop = Task.Run(RunAsync);
        return _store;
    }

    /// <summary>
    /// Hands an inbound Raft request (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch or FetchSnapshot of <c>__cluster_metadata-0</c>) from
    /// node <paramref name="source"/> to the replica and awaits its answer; null when the replica did not answer within
    /// the request timeout plus the fetch wait (the caller then reports REQUEST_TIMED_OUT).
    /// </summary>
    /// <param name="timeoutMs">How long to wait for the answer; by default the request timeout plus the fetch wait.</param>
    public async Task<IApiMessage?> ExchangeAsync(int source, IApiMessage request, CancellationToken cancellationToken, int? timeoutMs = null)
    {
        var store = Store;
        var id = Interlocked.Increment(ref _nextInboundId);
        var completion = new TaskCompletionSource<IApiMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _inbound[id] = completion;
        try
        {
            store.Handle(new RaftMessage(source, _nodeId, id, request));
            Wake();
            return await completion.Task.WaitAsync(TimeSpan.FromMilliseconds(timeoutMs ?? _config.RequestTimeoutMs + _config.FetchMaxWaitMs), _time, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _inbound.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// The controller endpoint of a node of the quorum: a voter from <c>controller.quorum.voters</c>, a bootstrap server
    /// (ids -2, -3, ...) from <c>controller.quorum.bootstrap.servers</c>, or a leader whose endpoint a fetch response named
    /// (how a node that only has bootstrap servers reaches the leader); null for an unknown id.
    /// </summary>
    public EndPoint? VoterEndPoint(int id)
    {
        // A dynamic quorum's voters come and go with the log: the set in force first, then the configured ones.
        if (id >= 0 && _store?.VoterEndpoint(id) is { } current)
        {
            return ToEndPoint(current.Host, current.Port);
        }

        foreach (var voter in id < 0 ? _config.BootstrapServers : _config.Voters)
        {
            if (voter.Id == id)
            {
                return ToEndPoint(voter.Host, voter.Port);
            }
        }

        return _learned.TryGetValue(id, out var learned) ? ToEndPoint(learned.Host, learned.Port) : null;
    }

    private static EndPoint ToEndPoint(string host, int port) =>
        IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port);

    /// <summary>
    /// A new connection to a voter's controller listener, owned by the caller. Requests that wait for a commit (broker
    /// registration) must not share the Raft connection: a server answers one connection's requests in order, so the
    /// follower fetches that would commit them would queue behind them.
    /// </summary>
    public KafkaClientConnection CreateConnection(int voter, string clientId) => new(
        () => VoterEndPoint(voter),
        new KafkaClientOptions(clientId, RequestTimeoutMs: _config.RequestTimeoutMs + _config.FetchMaxWaitMs),
        _time,
        new Random(HashCode.Combine(_nodeId, voter, clientId)),
        _loggerFactory.CreateLogger<KafkaClientConnection>());

    /// <summary>The connection forwarded admin requests (Envelope) take to a voter, apart from the Raft traffic.</summary>
    public KafkaClientConnection ForwardingConnectionTo(int voter) =>
        _forwarding.GetOrAdd(voter, id => CreateConnection(id, $"broker-{_nodeId}-forwarding"));

    /// <summary>The quorum leader, waiting up to the quorum request timeout for one to be elected; -1 if none by then.</summary>
    public async Task<int> WaitForLeaderAsync(CancellationToken cancellationToken)
    {
        var deadline = _time.GetTimestamp() + (long)(_config.RequestTimeoutMs / 1000.0 * _time.TimestampFrequency);
        while (true)
        {
            var leader = LeaderId;
            if (leader >= 0 || _time.GetTimestamp() >= deadline)
            {
                return leader;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private KafkaClientConnection RaftConnectionTo(int voter) => _connections.GetOrAdd(voter, id => CreateConnection(id, $"raft-client-{_nodeId}"));

    /// <summary>Wakes the loop so a deadline changed by an append or an inbound message is honoured.</summary>
    public void Wake() => _wake.Release();

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            long next;
            try
            {
                next = Store.Poll();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A replica fault (disk) must not end the loop silently: it is logged and polled again shortly.
                LogPollFailed(_logger, e);
                next = _time.GetUtcNow().ToUnixTimeMilliseconds() + 100;
            }

            // The deadline is on the injected clock, so the wait is too; a wake-up (inbound message, append) ends it early.
            var wait = Math.Clamp(next - _time.GetUtcNow().ToUnixTimeMilliseconds(), 1, 1000);
            using var timer = new CancellationTokenSource(TimeSpan.FromMilliseconds(wait), _time);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(token, timer.Token);
            try
            {
                await _wake.WaitAsync(either.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                // The deadline passed.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // The store's send callback: responses to inbound requests complete their handler; anything else is a request to a voter.
    private void Send(RaftMessage message)
    {
        if (_inbound.TryRemove(message.CorrelationId, out var completion))
        {
            completion.TrySetResult(message.Body);
            return;
        }

        if (message.CorrelationId >= long.MaxValue / 2)
        {
            // The answer to an inbound request whose handler gave up waiting.
            return;
        }

        _ = SendRequestAsync(message);
    }

    private async Task SendRequestAsync(RaftMessage message)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        if (message.Endpoint is { } explicitEndpoint)
        {
            await SendToEndpointAsync(message, explicitEndpoint).ConfigureAwait(false);
            return;
        }

        var connection = RaftConnectionTo(message.Destination);
        try
        {
            IApiMessage? response;
            IDisposable lease;
            switch (message.Body)
            {
                case VoteRequest:
                    var vote = await connection.SendAsync<VoteResponse>(message.Body, 1, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (vote.Message, vote);
                    break;
                case BeginQuorumEpochRequest:
                    var begin = await connection.SendAsync<BeginQuorumEpochResponse>(message.Body, 1, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (begin.Message, begin);
                    break;
                case EndQuorumEpochRequest:
                    var end = await connection.SendAsync<EndQuorumEpochResponse>(message.Body, 1, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (end.Message, end);
                    break;
                case FetchRequest:
                    var fetch = await connection.SendAsync<FetchResponse>(message.Body, 17, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (fetch.Message, fetch);
                    foreach (var endpoint in fetch.Message.NodeEndpoints)
                    {
                        _learned[endpoint.NodeId] = (endpoint.Host, endpoint.Port);
                    }

                    break;
                case FetchSnapshotRequest:
                    var chunk = await connection.SendAsync<FetchSnapshotResponse>(message.Body, 1, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (chunk.Message, chunk);
                    break;
                case AddRaftVoterRequest:
                    var add = await connection.SendAsync<AddRaftVoterResponse>(message.Body, 0, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (add.Message, add);
                    break;
                case RemoveRaftVoterRequest:
                    var remove = await connection.SendAsync<RemoveRaftVoterResponse>(message.Body, 0, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (remove.Message, remove);
                    break;
                case UpdateRaftVoterRequest:
                    var update = await connection.SendAsync<UpdateRaftVoterResponse>(message.Body, 0, _stopping.Token).ConfigureAwait(false);
                    (response, lease) = (update.Message, update);
                    break;
                default:
                    LogUnknownOutbound(_logger, message.Body.GetType().Name);
                    return;
            }

            using (lease)
            {
                // Handled synchronously: the fetched records point into the response buffer released just after.
                Store.Handle(new RaftMessage(message.Destination, _nodeId, message.CorrelationId, response));
            }

            Wake();
        }
        catch (Exception e) when (e is KafkaConnectionException or OperationCanceledException or ObjectDisposedException)
        {
            // No answer: the replica's request timeout lets it resend; a dead voter is simply unreachable.
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                LogSendFailed(_logger, message.Body.GetType().Name, message.Destination, e.Message);
            }
        }
    }

    /// <summary>
    /// A request the replica addressed to an explicit endpoint: the leader's ApiVersions to a new voter (KIP-853), at the
    /// controller listener named in AddRaftVoter, sent at v4 (v3 leaves kraft.version out, its minimum being 0). It takes
    /// a connection of its own, closed after the one exchange: the request is rare, and the node is in no voter set the
    /// Raft connections could resolve it through. A failed exchange is handed back as an ApiVersions error
    /// (BROKER_NOT_AVAILABLE, as Kafka's Raft channel reports a disconnect), so the replica aborts the addition at once
    /// rather than at its request timeout.
    /// </summary>
    private async Task SendToEndpointAsync(RaftMessage message, VoterListener endpoint)
    {
        if (message.Body is not ApiVersionsRequest)
        {
            LogUnknownOutbound(_logger, message.Body.GetType().Name);
            return;
        }

        var address = ToEndPoint(endpoint.Host, endpoint.Port);
        await using var connection = new KafkaClientConnection(
            () => address,
            new KafkaClientOptions($"raft-client-{_nodeId}", RequestTimeoutMs: _config.RequestTimeoutMs),
            _time,
            new Random(HashCode.Combine(_nodeId, message.Destination, message.CorrelationId)),
            _loggerFactory.CreateLogger<KafkaClientConnection>());
        ApiVersionsResponse response;
        IDisposable? lease = null;
        try
        {
            var answer = await connection.SendAsync<ApiVersionsResponse>(message.Body, ApiVersionsRequest.HighestSupportedVersion, _stopping.Token)
                .ConfigureAwait(false);
            (response, lease) = (answer.Message, answer);
        }
        catch (KafkaConnectionException e)
        {
            LogEndpointSendFailed(_logger, message.Destination, endpoint.Host, endpoint.Port, e.Message);
            response = new ApiVersionsResponse { ErrorCode = (short)ErrorCode.BrokerNotAvailable };
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }

        try
        {
            using (lease)
            {
                Store.Handle(new RaftMessage(message.Destination, _nodeId, message.CorrelationId, response));
            }

            Wake();
        }
        catch (ObjectDisposedException)
        {
            // Stopping: nobody waits for the answer any more.
        }
    }

    /// <summary>
    /// Before stopping: a leader resigns (EndQuorumEpoch) and waits, up to the quorum request timeout, until it hears of
    /// a successor (its BeginQuorumEpoch), so the others elect one at once rather than after the fetch timeout.
    /// </summary>
    public async Task ResignAsync()
    {
        if (_store is not { } store || !store.Resign())
        {
            return;
        }

        LogResigned(_logger, _nodeId);
        var deadline = _time.GetTimestamp() + (long)(_config.RequestTimeoutMs / 1000.0 * _time.TimestampFrequency);
        while (store.State.LeaderId is var leader && (leader < 0 || leader == _nodeId) && _time.GetTimestamp() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), _time).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        foreach (var connection in _connections.Values.Concat(_forwarding.Values))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var completion in _inbound.Values)
        {
            completion.TrySetCanceled();
        }

        _stopping.Dispose();
        _wake.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} resigned the quorum leadership for shutdown")]
    private static partial void LogResigned(ILogger logger, int nodeId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Raft poll failed")]
    private static partial void LogPollFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Raft produced an unexpected outbound message {Type}")]
    private static partial void LogUnknownOutbound(ILogger logger, string type);

    [LoggerMessage(Level = LogLevel.Information, Message = "ApiVersions to new voter {NodeId} at {Host}:{Port} got no answer: {Reason}")]
    private static partial void LogEndpointSendFailed(ILogger logger, int nodeId, string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Raft {Type} to node {NodeId} got no answer: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string type, int nodeId, string reason);
}
