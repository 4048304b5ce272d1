using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Dispatch;

/// <summary>
/// One Kafka API: its key, the version range it serves (which is also what ApiVersions advertises),
/// and the code that turns a request body into a response. Handlers are stateless apart from the
/// services they are built with. Thread-safe.
/// </summary>
internal abstract class ApiHandler
{
    public abstract short ApiKey { get; }

    public abstract short MinVersion { get; }

    public abstract short MaxVersion { get; }

    /// <summary>
    /// Decodes <paramref name="body"/> at the context's version and handles it. Returns null when no
    /// response must be sent (Produce with acks=0). Decoding errors surface as <see cref="KafkaProtocolException"/>.
    /// </summary>
    public abstract ValueTask<IApiMessage?> HandleAsync(RequestContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}

/// <summary>Typed base: decodes <typeparamref name="TRequest"/> then calls the straight-line handler.</summary>
internal abstract class ApiHandler<TRequest, TResponse> : ApiHandler
    where TRequest : IApiMessage, new()
    where TResponse : class, IApiMessage
{
    public sealed override ValueTask<IApiMessage?> HandleAsync(RequestContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var request = Decode(body, context.ApiVersion);
        var pending = HandleAsync(context, request, cancellationToken);
        return pending.IsCompletedSuccessfully
            ? new ValueTask<IApiMessage?>(pending.Result)
            : AwaitResponse(pending);
    }

    private static TRequest Decode(ReadOnlyMemory<byte> body, short version)
    {
        var request = new TRequest();
        var reader = new KafkaReader(body);
        request.Read(ref reader, version);
        return request;
    }

    private static async ValueTask<IApiMessage?> AwaitResponse(ValueTask<TResponse?> pending) => await pending.ConfigureAwait(false);

    protected abstract ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken);
}
