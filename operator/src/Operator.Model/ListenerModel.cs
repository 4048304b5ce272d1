using System.Globalization;
using Operator.Api;

namespace Operator.Model;

/// <summary>
/// A user listener with the names Strimzi derives from it (<c>CO/model/ListenersUtils</c>): the broker
/// listener name <c>NAME-PORT</c>, the Service port name, the bootstrap and per-node Service names.
/// Immutable; thread-safe.
/// </summary>
public sealed record ListenerModel(
    string Name,
    int Port,
    string Type,
    bool Tls,
    string? Authentication,
    ListenerConfiguration? Configuration)
{
    public const string Internal = "internal";
    public const string Route = "route";
    public const string TlsRoute = "tlsroute";
    public const string LoadBalancer = "loadbalancer";
    public const string NodePort = "nodeport";
    public const string Ingress = "ingress";
    public const string ClusterIp = "cluster-ip";

    /// <summary>The listener name in the broker config, e.g. <c>PLAIN-9092</c>.</summary>
    public string BrokerListenerName => string.Create(CultureInfo.InvariantCulture, $"{Name.ToUpperInvariant()}-{Port}");

    /// <summary>Prefix of per-listener broker keys, e.g. <c>listener.name.plain-9092.</c>.</summary>
    public string ConfigPrefix => string.Create(CultureInfo.InvariantCulture, $"listener.name.{Name}-{Port}.");

    public bool IsInternal => Type == Internal;

    /// <summary>Gets its own Services (bootstrap and per node): every type but internal.</summary>
    public bool IsExternal => !IsInternal;

    public string PortName => (Name, Port, Type) switch
    {
        ("plain", 9092, Internal) => "tcp-clients",
        ("tls", 9093, Internal) => "tcp-clientstls",
        ("external", 9094, _) => "tcp-external",
        _ => "tcp-" + Name,
    };

    /// <summary>The Kafka security protocol of this listener.</summary>
    public string SecurityProtocol => (Tls, Authentication) switch
    {
        (true, "scram-sha-512") => "SASL_SSL",
        (false, "scram-sha-512") => "SASL_PLAINTEXT",
        (true, _) => "SSL",
        (false, _) => "PLAINTEXT",
    };

    public string ExternalBootstrapServiceName(string cluster) => $"{cluster}-kafka-{Name}-bootstrap";

    public string PerNodeServiceName(string cluster, string pool, int nodeId) =>
        Name == "external" && Port == 9094
            ? string.Create(CultureInfo.InvariantCulture, $"{cluster}-{pool}-{nodeId}")
            : string.Create(CultureInfo.InvariantCulture, $"{cluster}-{pool}-{Name}-{nodeId}");

    /// <summary>The Service type backing this listener's own Services.</summary>
    public string ServiceType => Type switch
    {
        NodePort => "NodePort",
        LoadBalancer => "LoadBalancer",
        _ => "ClusterIP",
    };

    public ListenerBroker? BrokerOverride(int nodeId) => Configuration?.Brokers?.FirstOrDefault(b => b.Broker == nodeId);

    internal static ListenerModel From(GenericKafkaListener listener) => new(
        listener.Name!, listener.Port!.Value, listener.Type!, listener.Tls ?? false, listener.Authentication?.Type, listener.Configuration);
}
