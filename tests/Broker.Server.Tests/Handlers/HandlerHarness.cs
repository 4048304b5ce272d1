using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Configuration;
using Broker.Server.Dispatch;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Server.Tests.Handlers;

/// <summary>A broker without sockets: real logs in a temp dir, the real handler table, driven directly.</summary>
internal sealed class HandlerHarness : IDisposable
{
    private readonly string _dir;
    private readonly TimeProvider _time;
    private readonly (string Key, string Value)[] _overrides;
    private bool _handedOver;

    public HandlerHarness(params (string Key, string Value)[] overrides)
        : this(TimeProvider.System, overrides)
    {
    }

    public HandlerHarness(TimeProvider time, params (string Key, string Value)[] overrides)
        : this(Directory.CreateTempSubdirectory("handler-harness-").FullName, time, overrides)
    {
    }

    /// <summary>A harness whose log dir <paramref name="prepare"/> writes to first (formatted storage, for instance).</summary>
    public static HandlerHarness WithStorage(Action<string> prepare, TimeProvider time, params (string Key, string Value)[] overrides)
    {
        var dir = Directory.CreateTempSubdirectory("handler-harness-").FullName;
        prepare(dir);
        return new HandlerHarness(dir, time, overrides);
    }

    private HandlerHarness(string dir, TimeProvider time, (string Key, string Value)[] overrides)
    {
        _dir = dir;
        _time = time;
        _overrides = overrides;
        var settings = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["log.dirs"] = _dir,
            ["offsets.topic.replication.factor"] = "1",
            ["transaction.state.log.replication.factor"] = "1",
            ["transaction.state.log.min.isr"] = "1",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, null);
        Components = BrokerComponents.Create(config, NullLoggerFactory.Instance, time);
        Components.Services.Topics.RegisterBrokerAsync(1, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9092, 0)], null, CancellationToken.None)
            .GetAwaiter().GetResult();
    }

    public BrokerComponents Components { get; }

    public MetadataImage Image => Components.Metadata.Image;

    /// <summary>Sends <paramref name="request"/> through the handler at <paramref name="version"/>, as the kind of listener
    /// <paramref name="listener"/> serves it (by default a broker listener, or a controller listener for the controller's
    /// own APIs), and returns the encoded response body.</summary>
    public async Task<byte[]?> CallAsync(short apiKey, short version, IApiMessage request, ApiListeners? listenerKind = null)
    {
        var listener = listenerKind
            ?? (ApiMessageTypes.TryGet(apiKey, out var type) && (type.Listeners & ApiListeners.Broker) == 0 ? ApiListeners.Controller : ApiListeners.Broker);
        var handler = Components.Dispatcher.ForListener(listener).Find(apiKey) ?? throw new InvalidOperationException($"No handler for {apiKey} on a {listener} listener");
        using var writer = new KafkaWriter();
        request.Write(writer, version);
        var body = writer.WrittenSpan.ToArray();
        var context = new RequestContext(apiKey, version, 1, "harness", listener == ApiListeners.Controller ? "CONTROLLER" : "PLAINTEXT", null, 1) { ListenerKind = listener };
        var response = await handler.HandleAsync(context, body, CancellationToken.None);
        if (response is null)
        {
            return null;
        }

        using var output = new KafkaWriter();
        response.Write(output, version);
        context.ReturnResponseBuffers();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Closes this broker and opens a new one on the same log dirs; the new harness owns the directory.</summary>
    public HandlerHarness Restart()
    {
        Components.Dispose();
        _handedOver = true;
        return new HandlerHarness(_dir, _time, _overrides);
    }

    public void Dispose()
    {
        if (_handedOver)
        {
            return;
        }

        Components.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
