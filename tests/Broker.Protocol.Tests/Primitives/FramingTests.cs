using System.Buffers;
using System.Buffers.Binary;
using Broker.Protocol;

namespace Broker.Protocol.Tests.Primitives;

public sealed class FramingTests
{
    private static byte[] Frame(int bodyLength)
    {
        var frame = new byte[4 + bodyLength];
        BinaryPrimitives.WriteInt32BigEndian(frame, bodyLength);
        for (var i = 0; i < bodyLength; i++)
        {
            frame[4 + i] = (byte)i;
        }

        return frame;
    }

    [Fact]
    public void TryReadFrame_EveryStrictPrefix_IncompleteAndConsumesNothing()
    {
        var frame = Frame(37);
        for (var length = 0; length < frame.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(frame, 0, length);
            var before = buffer;

            var status = Framing.TryReadFrame(ref buffer, 1024, out _, out _);

            Assert.Equal(FrameStatus.Incomplete, status);
            Assert.Equal(before.Length, buffer.Length);
            Assert.True(before.Start.Equals(buffer.Start));
        }
    }

    [Fact]
    public void TryReadFrame_SplitAcrossSegments_SlicesWholeFrameAndKeepsRest()
    {
        var bytes = Frame(10).Concat(Frame(3)).ToArray();
        var first = new Segment(bytes.AsMemory(0, 6));
        var last = first.Append(bytes.AsMemory(6));
        var buffer = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);

        Assert.Equal(FrameStatus.Complete, Framing.TryReadFrame(ref buffer, 1024, out var frame, out var size));
        Assert.Equal(10, size);
        Assert.Equal(bytes.AsSpan(4, 10).ToArray(), frame.ToArray());
        Assert.Equal(7, buffer.Length);
        Assert.Equal(FrameStatus.Complete, Framing.TryReadFrame(ref buffer, 1024, out frame, out _));
        Assert.Equal(new byte[] { 0, 1, 2 }, frame.ToArray());
        Assert.Equal(0, buffer.Length);
    }

    [Theory]
    [InlineData(1025)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void TryReadFrame_SizeOutsideLimit_InvalidFromThePrefixAlone(int size)
    {
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, size);
        var buffer = new ReadOnlySequence<byte>(prefix);

        Assert.Equal(FrameStatus.Invalid, Framing.TryReadFrame(ref buffer, 1024, out _, out var declared));
        Assert.Equal(size, declared);
    }

    [Fact]
    public void TryReadFrame_EmptyFrame_Complete()
    {
        var buffer = new ReadOnlySequence<byte>(Frame(0));

        Assert.Equal(FrameStatus.Complete, Framing.TryReadFrame(ref buffer, 1024, out var frame, out _));
        Assert.Equal(0, frame.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
