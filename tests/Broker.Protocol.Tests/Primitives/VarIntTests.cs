using Broker.Protocol;

namespace Broker.Protocol.Tests.Primitives;

public sealed class VarIntTests
{
    [Theory]
    [InlineData(0, new byte[] { 0x00 })]
    [InlineData(-1, new byte[] { 0x01 })]
    [InlineData(1, new byte[] { 0x02 })]
    [InlineData(-2, new byte[] { 0x03 })]
    [InlineData(63, new byte[] { 0x7E })]
    [InlineData(64, new byte[] { 0x80, 0x01 })]
    [InlineData(int.MaxValue, new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(int.MinValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    public void ZigZag_KafkaExamples_EncodeAndDecode(int value, byte[] encoded)
    {
        var buffer = new byte[5];
        var written = VarInt.WriteSigned(buffer, value);

        Assert.Equal(encoded, buffer.AsSpan(0, written).ToArray());
        Assert.Equal(encoded.Length, VarInt.SizeOfSigned(value));
        Assert.True(VarInt.TryReadSigned(encoded, out var decoded, out var read));
        Assert.Equal(value, decoded);
        Assert.Equal(encoded.Length, read);
    }

    [Fact]
    public void TryReadUnsigned_FifthByteWithContinuation_Rejected()
    {
        Assert.False(VarInt.TryReadUnsigned([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], out _, out _));
    }

    [Fact]
    public void TryReadSignedLong_RoundTripsExtremes()
    {
        var buffer = new byte[10];
        foreach (var value in new[] { long.MinValue, long.MaxValue, 0L, -1L, 1L << 40 })
        {
            var written = VarInt.WriteSignedLong(buffer, value);
            Assert.Equal(VarInt.SizeOfSignedLong(value), written);
            Assert.True(VarInt.TryReadSignedLong(buffer.AsSpan(0, written), out var decoded, out var read));
            Assert.Equal(value, decoded);
            Assert.Equal(written, read);
        }
    }

    [Fact]
    public void KafkaReader_CompactStringLengthAboveIntMax_Malformed()
    {
        var bytes = new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F };

        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            reader.ReadCompactNullableString();
        });
    }
}
