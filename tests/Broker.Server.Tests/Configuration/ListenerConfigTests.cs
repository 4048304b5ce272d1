using Broker.Server.Configuration;

namespace Broker.Server.Tests.Configuration;

public sealed class ListenerConfigTests
{
    [Theory]
    [InlineData("PLAINTEXT://:9092", "PLAINTEXT", "", 9092)]
    [InlineData("plaintext://localhost:9092", "PLAINTEXT", "localhost", 9092)]
    [InlineData("SSL://10.0.0.1:0", "SSL", "10.0.0.1", 0)]
    [InlineData("PLAIN-9092://[::1]:9092", "PLAIN-9092", "::1", 9092)]
    [InlineData("PLAINTEXT://[fe80::1%eth0]:65535", "PLAINTEXT", "fe80::1%eth0", 65535)]
    [InlineData("PLAINTEXT://::1:9092", "PLAINTEXT", "::1", 9092)]
    public void TryParse_ValidListener_Parsed(string text, string name, string host, int port)
    {
        Assert.True(ListenerDefinition.TryParse(text, out var n, out var h, out var p, out var error), error);
        Assert.Equal((name, host, port), (n, h, p));
    }

    [Theory]
    [InlineData("PLAINTEXT:9092")]
    [InlineData("://host:9092")]
    [InlineData("PLAINTEXT://host")]
    [InlineData("PLAINTEXT://host:abc")]
    [InlineData("PLAINTEXT://host:65536")]
    [InlineData("PLAINTEXT://host:-1")]
    [InlineData("PLAINTEXT://[::1:9092")]
    [InlineData("PLAINTEXT://[::1]9092")]
    public void TryParse_Malformed_ReturnsFalseWithReason(string text)
    {
        Assert.False(ListenerDefinition.TryParse(text, out _, out _, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void ToString_Ipv6Host_Bracketed()
    {
        Assert.Equal("PLAINTEXT://[::1]:9092", new ListenerDefinition("PLAINTEXT", "::1", 9092, SecurityProtocol.Plaintext).ToString());
    }

    [Fact]
    public void Parse_DefaultListeners_BindAllAdvertiseLoopback()
    {
        var config = BrokerConfig.Parse(string.Empty);

        var listener = Assert.Single(config.Listeners);
        Assert.Equal(new ListenerDefinition("PLAINTEXT", string.Empty, 9092, SecurityProtocol.Plaintext), listener);
        var advertised = Assert.Single(config.AdvertisedListeners);
        Assert.Equal(new ListenerDefinition("PLAINTEXT", "127.0.0.1", 9092, SecurityProtocol.Plaintext), advertised);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("[::]")]
    public void Parse_WildcardHost_AdvertisedAsLoopback(string host)
    {
        var config = BrokerConfig.Parse($"listeners=PLAINTEXT://{host}:9092");

        Assert.Equal("127.0.0.1", Assert.Single(config.AdvertisedListeners).Host);
    }

    [Fact]
    public void Parse_BadPort_ThrowsNamingListeners()
    {
        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Parse("listeners=PLAINTEXT://:99999"));

        Assert.Equal(ConfigNames.Listeners, e.Key);
        Assert.Contains("PLAINTEXT://:99999", e.Message, StringComparison.Ordinal);
        Assert.Contains("port", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MultipleListenersWithMap_ResolvesProtocols()
    {
        var config = BrokerConfig.Parse(
            "listeners=INTERNAL://:9092,EXTERNAL://:9094,CONTROLLER://:9093\n" +
            "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT\n" +
            "inter.broker.listener.name=INTERNAL\n" +
            "controller.listener.names=CONTROLLER\n" +
            "advertised.listeners=INTERNAL://broker-0.svc:9092,EXTERNAL://public.example.com:443\n");

        Assert.Equal(3, config.Listeners.Count);
        Assert.Equal(SecurityProtocol.SaslSsl, config.Listeners[1].SecurityProtocol);
        Assert.Equal("SASL_SSL", config.SecurityProtocolFor("external"));
        Assert.Equal("INTERNAL", config.InterBrokerListenerName);
        Assert.Equal(["CONTROLLER"], config.ControllerListenerNames);
        Assert.Equal(
            ["INTERNAL://broker-0.svc:9092", "EXTERNAL://public.example.com:443"],
            config.AdvertisedListeners.Select(l => l.ToString()));
    }

    [Fact]
    public void Parse_DefaultAdvertised_ExcludesControllerListeners()
    {
        var config = BrokerConfig.Parse("listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER");

        Assert.Equal("PLAINTEXT", Assert.Single(config.AdvertisedListeners).Name);
        Assert.Equal("PLAINTEXT", config.SecurityProtocolFor("CONTROLLER"));
    }

    [Fact]
    public void Parse_ListenerWithoutProtocol_Throws()
    {
        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Parse("listeners=FOO://:9092\ninter.broker.listener.name=FOO"));

        Assert.Equal(ConfigNames.Listeners, e.Key);
        Assert.Contains("FOO", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("listeners=PLAINTEXT://:9092,PLAINTEXT://:9093", ConfigNames.Listeners)]
    [InlineData("listeners=PLAINTEXT://:9092,SSL://:9092", ConfigNames.Listeners)]
    [InlineData("advertised.listeners=SSL://h:9093", ConfigNames.AdvertisedListeners)]
    [InlineData("listeners=SSL://:9093", ConfigNames.InterBrokerListenerName)]
    [InlineData("inter.broker.listener.name=PLAINTEXT\nsecurity.inter.broker.protocol=SSL", ConfigNames.InterBrokerListenerName)]
    [InlineData("controller.listener.names=CONTROLLER", ConfigNames.ControllerListenerNames)]
    [InlineData("listener.security.protocol.map=PLAINTEXT:NOPE", ConfigNames.ListenerSecurityProtocolMap)]
    [InlineData("process.roles=broker\nlisteners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER", ConfigNames.ControllerListenerNames)]
    public void Parse_InconsistentListenerSettings_ThrowsNamingKey(string text, string key)
    {
        var e = Assert.Throws<ConfigException>(() => BrokerConfig.Parse(text));

        Assert.Equal(key, e.Key);
    }
}
