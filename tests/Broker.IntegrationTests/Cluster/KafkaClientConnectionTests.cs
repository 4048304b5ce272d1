using System.Net;
using System.Net.Sockets;
using Broker.Cluster.Network;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Cluster;

/// <summary>The inter-broker client connection against a real broker socket and against silent or absent peers.</summary>
public sealed class KafkaClientConnectionTests : IAsyncLifetime
{
    private readonly ITestOutputHelper _output;
    private readonly TestOutputLoggerFactory _loggerFactory;
    private BrokerFixture _broker = null!;

    public KafkaClientConnectionTests(ITestOutputHelper output)
    {
        _output = output;
        _loggerFactory = new TestOutputLoggerFactory(output);
    }

    public async Task InitializeAsync() => _broker = await BrokerFixture.StartAsync(_output);

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        _loggerFactory.Dispose();
    }

    private EndPoint BrokerEndPoint => _broker.Broker.Endpoints[0].EndPoint;

    private KafkaClientConnection Connect(Func<EndPoint?> resolve, int requestTimeoutMs = 30_000, int backoffMs = 50) =>
        new(resolve, new KafkaClientOptions("test-client", requestTimeoutMs, backoffMs, 1_000), TimeProvider.System, new Random(7),
            _loggerFactory.CreateLogger("client"));

    [Fact]
    public async Task SendAsync_ApiVersionsAndMetadata_ReturnsTheBrokersResponses()
    {
        await using var connection = Connect(() => BrokerEndPoint);

        using (var versions = await connection.SendAsync<ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1" }, 3, CancellationToken.None))
        {
            Assert.Equal(0, versions.Message.ErrorCode);
            Assert.Contains(versions.Message.ApiKeys, k => k.ApiKey == (short)ApiKey.Fetch && k.MaxVersion >= 15);
        }

        using var metadata = await connection.SendAsync<MetadataResponse>(new MetadataRequest { Topics = [] }, 12, CancellationToken.None);
        var broker = Assert.Single(metadata.Message.Brokers);
        Assert.Equal(1, broker.NodeId);
        Assert.Equal(((IPEndPoint)BrokerEndPoint).Port, broker.Port);
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task SendAsync_ManyConcurrentRequests_PipelinedEachAnsweredByItsOwnResponse()
    {
        await using var connection = Connect(() => BrokerEndPoint);

        // Alternating APIs and versions: a response matched to the wrong request would fail to decode or mismatch.
        var tasks = Enumerable.Range(0, 200).Select(async i =>
        {
            if (i % 2 == 0)
            {
                using var response = await connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), (short)(i % 4), CancellationToken.None);
                return response.Message.ApiKeys.Count > 0 && response.Message.ErrorCode == 0;
            }

            using var metadata = await connection.SendAsync<MetadataResponse>(new MetadataRequest { Topics = [] }, (short)(4 + (i % 9)), CancellationToken.None);
            return metadata.Message.Brokers.Count == 1;
        }).ToArray();

        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(results, Assert.True);
    }

    [Fact]
    public async Task SendAsync_PeerNeverAnswers_TimesOutAndClosesTheConnection()
    {
        using var silent = new SilentPeer();
        await using var connection = Connect(() => silent.EndPoint, requestTimeoutMs: 300);

        var error = await Assert.ThrowsAsync<KafkaConnectionException>(
            () => connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
        Assert.False(connection.IsConnected);
    }

    [Fact]
    public async Task SendAsync_Cancelled_StopsWaitingAndKeepsTheConnection()
    {
        using var silent = new SilentPeer();
        await using var connection = Connect(() => silent.EndPoint);
        using var cts = new CancellationTokenSource();

        var pending = connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, cts.Token);
        await silent.Accepted.WaitAsync(TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!connection.IsConnected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        // Connected: the request is being written or awaited, and only the wait can be cancelled.
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task SendAsync_NobodyListening_FailsThenReconnectsToTheResolvedEndpointAfterBackoff()
    {
        EndPoint target = FreePortEndPoint();
        await using var connection = Connect(() => target, backoffMs: 200);

        await Assert.ThrowsAsync<KafkaConnectionException>(
            () => connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        // The node "moved" (re-registered elsewhere): the next connect resolves again and succeeds.
        target = BrokerEndPoint;
        using var response = await connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, response.Message.ErrorCode);
    }

    [Fact]
    public async Task DisposeAsync_RequestInFlight_FailsItAndCloses()
    {
        using var silent = new SilentPeer();
        var connection = Connect(() => silent.EndPoint);
        var pending = connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, CancellationToken.None);
        await silent.Accepted.WaitAsync(TimeSpan.FromSeconds(30));

        await connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        await Assert.ThrowsAnyAsync<Exception>(() => pending.WaitAsync(TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, CancellationToken.None));
    }

    private static IPEndPoint FreePortEndPoint()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var endPoint = (IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
        return endPoint;
    }

    /// <summary>Accepts connections and reads requests but never answers. Owned by one test.</summary>
    private sealed class SilentPeer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly TaskCompletionSource _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<Socket> _sockets = [];

        public SilentPeer()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        public EndPoint EndPoint => _listener.LocalEndpoint;

        public Task Accepted => _accepted.Task;

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync();
                    lock (_sockets)
                    {
                        _sockets.Add(socket);
                    }

                    _accepted.TrySetResult();
                    _ = DrainAsync(socket);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Listener stopped.
            }
        }

        private static async Task DrainAsync(Socket socket)
        {
            var buffer = new byte[4096];
            try
            {
                while (await socket.ReceiveAsync(buffer) > 0)
                {
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Closed by the test.
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            lock (_sockets)
            {
                foreach (var socket in _sockets)
                {
                    socket.Dispose();
                }
            }
        }
    }
}
