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

    public HandlerHarness(params (string Key, string Value)[] overrides)
        : this(TimeProvider.System, overrides)
    {
    }

    public HandlerHarness(TimeProvider time, params (string Key, string Value)[] overrides)
    {
        _dir = Directory.CreateTempSubdirectory("handler-harness-").FullName;
        var settings = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["log.dirs"] = _dir,
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

    /// <summary>Sends <paramref name="request"/> through the handler at <paramref name="version"/> and returns the encoded response body.</summary>
    public async Task<byte[]?> CallAsync(short apiKey, short version, IApiMessage request)
    {
        var handler = Components.Dispatcher.Find(apiKey) ?? throw new InvalidOperationException($"No handler for {apiKey}");
        using var writer = new KafkaWriter();
        request.Write(writer, version);
        var body = writer.WrittenSpan.ToArray();
        var context = new RequestContext(apiKey, version, 1, "harness", "PLAINTEXT", null, 1);
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

    public void Dispose()
    {
        Components.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
