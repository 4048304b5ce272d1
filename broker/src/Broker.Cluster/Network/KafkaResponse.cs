using System.Buffers;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Network;

/// <summary>
/// A decoded response and the pooled buffer its byte and record fields point into (the codec slices, never copies).
/// Dispose once done with <see cref="Message"/>: the buffer goes back to the pool and those fields become invalid.
/// Owned by the caller of <see cref="KafkaClientConnection.SendAsync{TResponse}"/>; not thread-safe.
/// </summary>
public sealed class KafkaResponse<TResponse> : IDisposable
    where TResponse : IApiMessage
{
    private byte[]? _buffer;

    internal KafkaResponse(TResponse message, byte[] buffer)
    {
        Message = message;
        _buffer = buffer;
    }

    /// <summary>A response whose fields own their memory (built in memory, e.g. by a simulated network).</summary>
    public KafkaResponse(TResponse message)
    {
        Message = message;
    }

    public TResponse Message { get; }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
