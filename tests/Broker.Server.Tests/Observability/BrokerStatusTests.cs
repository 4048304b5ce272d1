using System.Text;
using Broker.Server.Observability;
using Broker.Storage;

namespace Broker.Server.Tests.Observability;

/// <summary>The broker state and recovery progress as /v1/broker-state and /v1/ready report them.</summary>
public sealed class BrokerStatusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("broker-status-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(BrokerState.NotRunning, "{\"brokerState\":0}")]
    [InlineData(BrokerState.Starting, "{\"brokerState\":1}")]
    [InlineData(BrokerState.Running, "{\"brokerState\":3}")]
    [InlineData(BrokerState.PendingControlledShutdown, "{\"brokerState\":6}")]
    [InlineData(BrokerState.ShuttingDown, "{\"brokerState\":7}")]
    public void ToJson_NotRecovering_StateOnly(BrokerState state, string expected)
    {
        var status = new BrokerStatus(new LogRecoveryProgress());
        status.Set(state);

        Assert.Equal(expected, status.ToJson());
    }

    [Fact]
    public void ToJson_RecoveryFinished_ZeroRemaining()
    {
        var status = new BrokerStatus(new LogRecoveryProgress());
        status.Set(BrokerState.Recovery);

        Assert.Equal("{\"brokerState\":2,\"recoveryState\":{\"remainingLogsToRecover\":0,\"remainingSegmentsToRecover\":0}}", status.ToJson());
    }

    [Fact]
    public void ToJson_WhileLogsLoad_CountsDownRemainingLogsAndSegments()
    {
        // Three partition logs on disk, one segment each.
        using (var logs = LogManager.Open(Options(null), TimeProvider.System))
        {
            foreach (var partition in new[] { 0, 1, 2 })
            {
                logs.GetOrCreateLog("t", partition, Guid.Parse("6f1c2a3e-0000-4000-8000-000000000001"), LogConfig.Default);
            }
        }

        var status = new BrokerStatus(new LogRecoveryProgress());
        status.Set(BrokerState.Recovery);
        var seen = new List<string>();

        // The topic-config callback runs just before each log is opened: the progress of the logs before it is visible.
        using (LogManager.Open(Options(status.Recovery, _ =>
        {
            seen.Add(status.ToJson());
            return LogConfig.Default;
        }), TimeProvider.System))
        {
        }

        Assert.Equal(3, seen.Count);
        Assert.Equal([Json(3, 3), Json(2, 2), Json(1, 1)], seen);
        Assert.Equal(Json(0, 0), status.ToJson());
        status.Set(BrokerState.Running);
        Assert.Equal("{\"brokerState\":3}", status.ToJson());
    }

    [Theory]
    [InlineData(BrokerState.Starting, 503)]
    [InlineData(BrokerState.Recovery, 503)]
    [InlineData(BrokerState.Running, 204)]
    [InlineData(BrokerState.ShuttingDown, 503)]
    public void HealthReply_Ready_NoContentOnlyWhenRunning(BrokerState state, int expected)
    {
        var status = new BrokerStatus(new LogRecoveryProgress());
        status.Set(state);

        var reply = ObservabilityEndpoints.HealthReply("/v1/ready", status);

        Assert.Equal(expected, reply.Status);
        Assert.True(reply.Body.IsEmpty);
    }

    [Fact]
    public void HealthReply_BrokerState_JsonBody()
    {
        var status = new BrokerStatus(new LogRecoveryProgress());
        status.Set(BrokerState.Running);

        var reply = ObservabilityEndpoints.HealthReply("/v1/broker-state", status);

        Assert.Equal(200, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal("{\"brokerState\":3}", Encoding.UTF8.GetString(reply.Body.Span));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/metrics")]
    [InlineData("/v1/readyz")]
    public void HealthReply_UnknownPath_NotFound(string path)
    {
        Assert.Equal(404, ObservabilityEndpoints.HealthReply(path, new BrokerStatus(new LogRecoveryProgress())).Status);
    }

    [Theory]
    [InlineData("GET /v1/ready HTTP/1.1\r\nHost: x", "GET", "/v1/ready")]
    [InlineData("HEAD /metrics?name[]=x HTTP/1.0", "HEAD", "/metrics")]
    public void TryParseRequestLine_Valid_MethodAndPathWithoutQuery(string head, string method, string path)
    {
        Assert.True(SideHttpServer.TryParseRequestLine(Encoding.ASCII.GetBytes(head), out var parsedMethod, out var parsedPath));
        Assert.Equal(method, parsedMethod);
        Assert.Equal(path, parsedPath);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("GET /v1/ready")]
    [InlineData("GET v1/ready HTTP/1.1")]
    [InlineData("GET /v1/ready SPDY/3")]
    [InlineData(" /v1/ready HTTP/1.1")]
    public void TryParseRequestLine_Malformed_False(string head)
    {
        Assert.False(SideHttpServer.TryParseRequestLine(Encoding.ASCII.GetBytes(head), out _, out _));
    }

    private static string Json(int logs, int segments) =>
        $"{{\"brokerState\":2,\"recoveryState\":{{\"remainingLogsToRecover\":{logs},\"remainingSegmentsToRecover\":{segments}}}}}";

    private LogManagerOptions Options(LogRecoveryProgress? progress, Func<string, LogConfig>? topicConfig = null) =>
        new([_dir], 1, null, LogConfig.Default) { RecoveryProgress = progress, TopicConfig = topicConfig };
}
