using Broker.Server.Configuration;

namespace Broker.Server.Tests.Configuration;

public sealed class EnvironmentConfigTests
{
    [Theory]
    [InlineData("KAFKA_LOG_DIRS", "log.dirs")]
    [InlineData("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "auto.create.topics.enable")]
    [InlineData("KAFKA_NODE_ID", "node.id")]
    [InlineData("KAFKA_LISTENER_NAME_PLAIN___9092_SSL_KEYSTORE_TYPE", "listener.name.plain-9092.ssl.keystore.type")]
    [InlineData("KAFKA_CONFLUENT_SUPPORT__METRICS_ENABLE", "confluent.support_metrics.enable")]
    [InlineData("KAFKA_A____B", "a-.b")]
    [InlineData("KAFKA_A_____B", "a-_b")]
    public void TryMapVariable_KafkaVariable_MapsToKey(string variable, string expected)
    {
        Assert.True(EnvironmentConfig.TryMapVariable(variable, out var key));
        Assert.Equal(expected, key);
    }

    [Theory]
    [InlineData("PATH")]
    [InlineData("KAFKA_")]
    [InlineData("kafka_log_dirs")]
    [InlineData("KAFKA_HEAP_OPTS")]
    [InlineData("KAFKA_OPTS")]
    [InlineData("KAFKA_LOG4J_OPTS")]
    public void TryMapVariable_NotConfiguration_ReturnsFalse(string variable)
    {
        Assert.False(EnvironmentConfig.TryMapVariable(variable, out _));
    }

    [Theory]
    [InlineData("log.dirs")]
    [InlineData("listener.name.plain-9092.ssl.keystore.type")]
    [InlineData("confluent.support_metrics.enable")]
    public void ToVariableName_RoundTrips(string key)
    {
        Assert.True(EnvironmentConfig.TryMapVariable(EnvironmentConfig.ToVariableName(key), out var back));
        Assert.Equal(key, back);
    }

    [Fact]
    public void Extract_MixedEnvironment_KeepsOnlyKafkaVariables()
    {
        var env = new Dictionary<string, string>
        {
            ["HOME"] = "/root",
            ["KAFKA_NUM_PARTITIONS"] = "3",
            ["KAFKA_HEAP_OPTS"] = "-Xmx1G",
        };

        var entry = Assert.Single(EnvironmentConfig.Extract(env));
        Assert.Equal(new KeyValuePair<string, string>("num.partitions", "3"), entry);
    }
}
