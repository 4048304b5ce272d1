using Broker.Protocol.Records;

namespace Broker.Storage.Tests;

public sealed class LogConfigTests
{
    [Fact]
    public void From_Empty_KafkaDefaults()
    {
        var config = LogConfig.From(new Dictionary<string, string>());

        Assert.Equal(1073741824, config.SegmentBytes);
        Assert.Equal(604800000, config.SegmentMs);
        Assert.Equal(0, config.SegmentJitterMs);
        Assert.Equal(4096, config.IndexIntervalBytes);
        Assert.Equal(10485760, config.SegmentIndexBytes);
        Assert.Equal(long.MaxValue, config.FlushMessages);
        Assert.Equal(long.MaxValue, config.FlushMs);
        Assert.Equal(604800000, config.RetentionMs);
        Assert.Equal(-1, config.RetentionBytes);
        Assert.Equal(1048588, config.MaxMessageBytes);
        Assert.Equal(TimestampType.CreateTime, config.MessageTimestampType);
        Assert.False(config.Preallocate);
        Assert.Equal(60000, config.FileDeleteDelayMs);
        Assert.Equal(LogConfig.Default, config);
    }

    [Fact]
    public void From_TopicOverrides_AppliedOverBrokerDefaults()
    {
        var broker = LogConfig.Default with { RetentionMs = 1_000 };

        var config = LogConfig.From(
            new Dictionary<string, string>
            {
                ["segment.bytes"] = "2097152",
                ["segment.ms"] = "3600000",
                ["message.timestamp.type"] = "LogAppendTime",
                ["preallocate"] = "TRUE",
                ["retention.bytes"] = "-1",
                ["flush.messages"] = "1",
                ["cleanup.policy"] = "compact", // not a storage concern: ignored
            },
            broker);

        Assert.Equal(2097152, config.SegmentBytes);
        Assert.Equal(3600000, config.SegmentMs);
        Assert.Equal(TimestampType.LogAppendTime, config.MessageTimestampType);
        Assert.True(config.Preallocate);
        Assert.Equal(1, config.FlushMessages);
        Assert.Equal(1_000, config.RetentionMs);
    }

    [Theory]
    [InlineData("segment.bytes", "abc")]
    [InlineData("segment.bytes", "1000")]
    [InlineData("segment.ms", "0")]
    [InlineData("flush.messages", "0")]
    [InlineData("retention.ms", "-2")]
    [InlineData("index.interval.bytes", "99999999999")]
    [InlineData("message.timestamp.type", "createtime")]
    [InlineData("preallocate", "yes")]
    public void From_InvalidValue_ThrowsNamingKey(string key, string value)
    {
        var error = Assert.Throws<InvalidLogConfigException>(() => LogConfig.From(new Dictionary<string, string> { [key] = value }));

        Assert.Equal(key, error.Key);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TopicConfigs_ReturnsMessageOrNull()
    {
        Assert.Null(LogConfig.Validate(new Dictionary<string, string?> { ["segment.ms"] = "1000", ["retention.ms"] = null, ["cleanup.policy"] = "compact" }));
        Assert.Contains("segment.ms", LogConfig.Validate(new Dictionary<string, string?> { ["segment.ms"] = "soon" }), StringComparison.Ordinal);
    }

    [Fact]
    public void LogAppendTime_FollowsTimestampType()
    {
        Assert.False(LogConfig.Default.LogAppendTime);
        Assert.True((LogConfig.Default with { MessageTimestampType = TimestampType.LogAppendTime }).LogAppendTime);
    }
}
