using Broker.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Tests.Configuration;

public sealed class BrokerConfigTests
{
    private static readonly Dictionary<string, string> None = [];

    [Fact]
    public void Parse_Empty_UsesDefaults()
    {
        var config = BrokerConfig.Parse(string.Empty);

        Assert.Equal(1, config.NodeId);
        Assert.Equal(["broker", "controller"], config.ProcessRoles);
        Assert.True(config.HasBrokerRole);
        Assert.True(config.HasControllerRole);
        Assert.Equal(["/tmp/kraft-combined-logs"], config.LogDirs);
        Assert.Equal("/tmp/kraft-combined-logs", config.MetadataLogDir);
        Assert.Equal(1, config.NumPartitions);
        Assert.Equal(1, config.DefaultReplicationFactor);
        Assert.True(config.AutoCreateTopicsEnable);
        Assert.True(config.DeleteTopicEnable);
        Assert.Equal(1048588, config.MessageMaxBytes);
        Assert.Equal(104857600, config.SocketRequestMaxBytes);
        Assert.Equal(600000L, config.ConnectionsMaxIdleMs);
        Assert.Equal(500, config.QueuedMaxRequests);
        Assert.Equal(57671680, config.FetchMaxBytes);
        Assert.Equal(1073741824, config.LogSegmentBytes);
        Assert.Equal(168L * 3600 * 1000, config.LogRollMs);
        Assert.Equal(0L, config.LogRollJitterMs);
        Assert.Equal(4096, config.LogIndexIntervalBytes);
        Assert.Equal(10485760, config.LogIndexSizeMaxBytes);
        Assert.Equal(long.MaxValue, config.LogFlushIntervalMessages);
        Assert.Equal(long.MaxValue, config.LogFlushIntervalMs);
        Assert.Equal(60000, config.LogFlushOffsetCheckpointIntervalMs);
        Assert.Equal(604800000L, config.LogRetentionMs);
        Assert.Equal(-1L, config.LogRetentionBytes);
        Assert.Equal(300000L, config.LogRetentionCheckIntervalMs);
        Assert.Equal("CreateTime", config.LogMessageTimestampType);
        Assert.Equal(["delete"], config.LogCleanupPolicy);
        Assert.Equal("producer", config.CompressionType);
        Assert.False(config.LogPreallocate);
        Assert.Equal(1, config.MinInsyncReplicas);
        Assert.Equal((short)3, config.OffsetsTopicReplicationFactor);
        Assert.Equal((short)3, config.TransactionStateLogReplicationFactor);
        Assert.Equal(3000, config.GroupInitialRebalanceDelayMs);
        Assert.Equal(1048576, config.ReplicaFetchMaxBytes);
        Assert.Null(config.ClusterId);
        Assert.Null(config.Rack);
        Assert.Equal("PLAINTEXT", config.InterBrokerListenerName);
        Assert.Empty(config.ControllerListenerNames);
    }

    [Fact]
    public void AllValues_Defaults_EveryDefinedKeyWithDefaultSource()
    {
        var config = BrokerConfig.Parse(string.Empty);

        foreach (var key in BrokerConfig.Definition.Keys)
        {
            var value = config.AllValues[key.Name];
            Assert.Equal(ConfigSource.Default, value.Source);
            Assert.Equal(key.DefaultValue, value.Value);
            Assert.True(value.IsKnown);
        }

        Assert.Equal(BrokerConfig.Definition.Keys.Count, config.AllValues.Count);
        Assert.Null(config.AllValues[ConfigNames.LogRetentionMs].Value);
    }

    [Fact]
    public void Load_FileEnvironmentOverride_LaterSourceWins()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "num.partitions=2\ndefault.replication.factor=2\nmessage.max.bytes=2000\n");
            var env = new Dictionary<string, string>
            {
                ["KAFKA_DEFAULT_REPLICATION_FACTOR"] = "3",
                ["KAFKA_MESSAGE_MAX_BYTES"] = "3000",
            };
            var overrides = new Dictionary<string, string> { ["message.max.bytes"] = "4000" };

            var config = BrokerConfig.Load(path, env, overrides);

            Assert.Equal(2, config.NumPartitions);
            Assert.Equal(3, config.DefaultReplicationFactor);
            Assert.Equal(4000, config.MessageMaxBytes);
            Assert.Equal(ConfigSource.File, config.AllValues["num.partitions"].Source);
            Assert.Equal(ConfigSource.Environment, config.AllValues["default.replication.factor"].Source);
            Assert.Equal(ConfigSource.Override, config.AllValues["message.max.bytes"].Source);
            Assert.Equal("4000", config.AllValues["message.max.bytes"].Value);
            Assert.Equal(ConfigSource.Default, config.AllValues["fetch.max.bytes"].Source);
            Assert.True(config.IsSet("num.partitions"));
            Assert.False(config.IsSet("fetch.max.bytes"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_NullPath_DefaultsAndEnvironment()
    {
        var config = BrokerConfig.Load(null, new Dictionary<string, string> { ["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] = "false" }, None);

        Assert.False(config.AutoCreateTopicsEnable);
    }

    [Fact]
    public void Load_MissingFile_ThrowsConfigExceptionNamingPath()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "server.properties");

        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Load(path, None, None));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("num.partitions", "abc", "Invalid value 'abc' for configuration num.partitions: not a number")]
    [InlineData("num.partitions", "0", "Invalid value '0' for configuration num.partitions: must be at least 1")]
    [InlineData("num.partitions", "99999999999", "Invalid value '99999999999' for configuration num.partitions: out of range for type int")]
    [InlineData("auto.create.topics.enable", "yes", "Invalid value 'yes' for configuration auto.create.topics.enable: expected true or false")]
    [InlineData("log.message.timestamp.type", "createtime", "Invalid value 'createtime' for configuration log.message.timestamp.type: must be one of CreateTime, LogAppendTime")]
    [InlineData("compression.type", "brotli", "Invalid value 'brotli' for configuration compression.type: must be one of uncompressed, zstd, lz4, snappy, gzip, producer")]
    [InlineData("log.cleanup.policy", "delete,archive", "Invalid value 'delete,archive' for configuration log.cleanup.policy: 'archive' is not one of delete, compact")]
    [InlineData("process.roles", "broker,broker", "Invalid value 'broker,broker' for configuration process.roles: 'broker' is listed twice")]
    [InlineData("log.cleaner.min.cleanable.ratio", "1.5", "Invalid value '1.5' for configuration log.cleaner.min.cleanable.ratio: must be between 0 and 1")]
    [InlineData("log.segment.bytes", "1000", "Invalid value '1000' for configuration log.segment.bytes: must be at least 1048576")]
    public void Parse_InvalidValue_ThrowsNamingKeyAndValue(string key, string value, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Parse($"{key}={value}"));

        Assert.Equal(expected, e.Message);
        Assert.Equal(key, e.Key);
    }

    [Fact]
    public void Load_InvalidEnvironmentValue_ThrowsNamingKey()
    {
        var env = new Dictionary<string, string> { ["KAFKA_NUM_PARTITIONS"] = "many" };

        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Load(null, env, None));

        Assert.Equal("Invalid value 'many' for configuration num.partitions: not a number", e.Message);
    }

    [Fact]
    public void Parse_ValuesWithSurroundingBlanks_Trimmed()
    {
        var config = BrokerConfig.Parse("num.partitions =  4  \nlog.dirs= /a , /b ,\n");

        Assert.Equal(4, config.NumPartitions);
        Assert.Equal(["/a", "/b"], config.LogDirs);
    }

    [Fact]
    public void Parse_UnknownKeys_KeptAndWarned()
    {
        var logger = new RecordingLogger();

        var config = BrokerConfig.Parse("retention.ms=1000\nsome.future.key=x", logger: logger);

        var value = config.AllValues["some.future.key"];
        Assert.Equal("x", value.Value);
        Assert.Equal(ConfigSource.File, value.Source);
        Assert.False(value.IsKnown);
        Assert.True(config.TryGetValue("retention.ms", out var retention));
        Assert.Equal("1000", retention.Value);
        var warnings = logger.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("some.future.key", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("retention.ms", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_LogDirsAndLogDir_LogDirsWins()
    {
        Assert.Equal(["/x"], BrokerConfig.Parse("log.dir=/x").LogDirs);
        Assert.Equal(["/y", "/z"], BrokerConfig.Parse("log.dir=/x\nlog.dirs=/y,/z").LogDirs);
        Assert.Equal("/m", BrokerConfig.Parse("log.dirs=/y\nmetadata.log.dir=/m").MetadataLogDir);
    }

    [Fact]
    public void Parse_EmptyLogDirs_Throws()
    {
        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Parse("log.dirs= , "));

        Assert.Equal(ConfigNames.LogDirs, e.Key);
    }

    [Theory]
    [InlineData("", 604800000L)]
    [InlineData("log.retention.hours=1", 3600000L)]
    [InlineData("log.retention.hours=1\nlog.retention.minutes=5", 300000L)]
    [InlineData("log.retention.hours=1\nlog.retention.minutes=5\nlog.retention.ms=1234", 1234L)]
    [InlineData("log.retention.minutes=5\nlog.retention.ms=-1", -1L)]
    [InlineData("log.retention.hours=-5", -1L)]
    public void Parse_RetentionKeys_MsThenMinutesThenHours(string text, long expected)
    {
        var config = BrokerConfig.Parse(text);

        Assert.Equal(expected, config.LogRetentionMs);
        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), config.TopicDefaults()["retention.ms"]);
    }

    [Fact]
    public void Parse_ZeroRetention_Throws()
    {
        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Parse("log.retention.ms=0"));

        Assert.Equal(ConfigNames.LogRetentionMs, e.Key);
    }

    [Fact]
    public void Parse_RollAndFlushSynonyms_Resolved()
    {
        var config = BrokerConfig.Parse("log.roll.hours=2\nlog.roll.jitter.hours=1\nlog.flush.scheduler.interval.ms=5000");

        Assert.Equal(7200000L, config.LogRollMs);
        Assert.Equal(3600000L, config.LogRollJitterMs);
        Assert.Equal(5000L, config.LogFlushIntervalMs);
        Assert.Equal(10L, BrokerConfig.Parse("log.roll.hours=2\nlog.roll.ms=10").LogRollMs);
        Assert.Equal(7L, BrokerConfig.Parse("log.flush.interval.ms=7\nlog.flush.scheduler.interval.ms=5000").LogFlushIntervalMs);
    }

    [Fact]
    public void TopicDefaults_Defaults_MatchKafka()
    {
        var defaults = BrokerConfig.Parse(string.Empty).TopicDefaults();

        Assert.Equal("1073741824", defaults["segment.bytes"]);
        Assert.Equal("604800000", defaults["segment.ms"]);
        Assert.Equal("0", defaults["segment.jitter.ms"]);
        Assert.Equal("4096", defaults["index.interval.bytes"]);
        Assert.Equal("10485760", defaults["segment.index.bytes"]);
        Assert.Equal("9223372036854775807", defaults["flush.messages"]);
        Assert.Equal("9223372036854775807", defaults["flush.ms"]);
        Assert.Equal("604800000", defaults["retention.ms"]);
        Assert.Equal("-1", defaults["retention.bytes"]);
        Assert.Equal("1048588", defaults["max.message.bytes"]);
        Assert.Equal("CreateTime", defaults["message.timestamp.type"]);
        Assert.Equal("delete", defaults["cleanup.policy"]);
        Assert.Equal("producer", defaults["compression.type"]);
        Assert.Equal("false", defaults["preallocate"]);
        Assert.Equal("1", defaults["min.insync.replicas"]);
        Assert.Equal("0.5", defaults["min.cleanable.dirty.ratio"]);
        Assert.Equal("86400000", defaults["delete.retention.ms"]);
        Assert.Equal("60000", defaults["file.delete.delay.ms"]);
    }

    [Fact]
    public void TopicDefaults_BrokerOverrides_Mapped()
    {
        var defaults = BrokerConfig.Parse(
            "log.segment.bytes=1048576\nlog.roll.ms=60000\nlog.index.interval.bytes=100\nlog.index.size.max.bytes=4096\n" +
            "log.flush.interval.messages=1\nlog.flush.interval.ms=10\nlog.retention.bytes=5000\nmessage.max.bytes=2000\n" +
            "log.message.timestamp.type=LogAppendTime\nlog.cleanup.policy=compact, delete\ncompression.type=zstd\n" +
            "log.preallocate=TRUE\nmin.insync.replicas=2").TopicDefaults();

        Assert.Equal("1048576", defaults["segment.bytes"]);
        Assert.Equal("60000", defaults["segment.ms"]);
        Assert.Equal("100", defaults["index.interval.bytes"]);
        Assert.Equal("4096", defaults["segment.index.bytes"]);
        Assert.Equal("1", defaults["flush.messages"]);
        Assert.Equal("10", defaults["flush.ms"]);
        Assert.Equal("5000", defaults["retention.bytes"]);
        Assert.Equal("2000", defaults["max.message.bytes"]);
        Assert.Equal("LogAppendTime", defaults["message.timestamp.type"]);
        Assert.Equal("compact,delete", defaults["cleanup.policy"]);
        Assert.Equal("zstd", defaults["compression.type"]);
        Assert.Equal("true", defaults["preallocate"]);
        Assert.Equal("2", defaults["min.insync.replicas"]);
    }

    [Fact]
    public void GetTypedAccessors_DefinedKeys_ReturnParsedValues()
    {
        var config = BrokerConfig.Parse("log.cleaner.min.cleanable.ratio=0.25\nbroker.rack=r1");

        Assert.Equal(0.25, config.GetDouble(ConfigNames.LogCleanerMinCleanableRatio));
        Assert.Equal("r1", config.GetString(ConfigNames.BrokerRack));
        Assert.Equal("r1", config.Rack);
        Assert.Equal(50, config.GetInt(ConfigNames.OffsetsTopicNumPartitions));
        Assert.Empty(config.GetList(ConfigNames.ControllerQuorumVoters));
        Assert.Throws<KeyNotFoundException>(() => config.GetInt("no.such.key"));
        Assert.Throws<InvalidCastException>(() => config.GetLong(ConfigNames.NumPartitions));
    }

    [Fact]
    public void Load_CommittedServerProperties_LoadsSingleNode()
    {
        var path = FindRepositoryFile("broker/config/server.properties");
        var logger = new RecordingLogger();

        var config = BrokerConfig.Load(path, None, None, logger);

        Assert.Equal(1, config.NodeId);
        Assert.True(config.HasBrokerRole && config.HasControllerRole);
        Assert.Equal("PLAINTEXT://127.0.0.1:9092", Assert.Single(config.Listeners).ToString());
        Assert.Equal("PLAINTEXT://127.0.0.1:9092", Assert.Single(config.AdvertisedListeners).ToString());
        Assert.Equal(["./data"], config.LogDirs);
        Assert.Equal(1, config.NumPartitions);
        Assert.True(config.AutoCreateTopicsEnable);
        Assert.Equal((short)1, config.OffsetsTopicReplicationFactor);
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Definition_EveryTopicSynonym_IsADefinedKey()
    {
        foreach (var (topicKey, synonyms) in TopicConfigSynonyms.All)
        {
            Assert.NotEmpty(synonyms);
            foreach (var synonym in synonyms)
            {
                Assert.True(BrokerConfig.Definition.Contains(synonym.Name), $"{topicKey} -> {synonym.Name}");
            }
        }
    }

    [Fact]
    public void ConfigDef_DuplicateKey_Rejected()
    {
        var key = new ConfigKey("a", ConfigType.Int, "1", null, "doc");

        Assert.Throws<ArgumentException>(() => new ConfigDef([key, key]));
        Assert.Throws<ArgumentException>(() => new ConfigDef([new ConfigKey("b", ConfigType.Int, "x", null, "doc")]));
    }

    private static string FindRepositoryFile(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relativePath} not found above {AppContext.BaseDirectory}.");
    }
}
