using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s.Models;
using Operator.Api;

namespace Operator.Model;

/// <summary>
/// Semantic checks the CRD schema cannot express (it is lenient so that every era's manifests apply).
/// Each error names the resource and the field. Stateless; thread-safe.
/// </summary>
internal static partial class Validation
{
    /// <summary>Ports a listener may not use: Prometheus/metrics (9404) and JMX (9999), as in Strimzi.</summary>
    public static readonly IReadOnlySet<int> ReservedPorts = new HashSet<int> { 9404, 9999 };

    /// <summary>
    /// <c>renewalDays</c> below <c>validityDays</c> (Strimzi's defaults 30 and 365): otherwise every new certificate would
    /// be due for renewal the moment it is made.
    /// </summary>
    public static void CertificateAuthority(string resource, string field, Api.CertificateAuthority? ca, List<ValidationError> errors)
    {
        var validity = ca?.ValidityDays ?? 365;
        var renewal = ca?.RenewalDays ?? 30;
        if (renewal >= validity)
        {
            errors.Add(new(resource, field + ".renewalDays", string.Create(CultureInfo.InvariantCulture,
                $"{renewal} must be less than {field}.validityDays ({validity})")));
        }
    }

    public static IReadOnlyList<ListenerModel> Listeners(
        string resource, List<GenericKafkaListener>? listeners, List<ValidationError> errors, List<ModelWarning> warnings)
    {
        if (listeners is null || listeners.Count == 0)
        {
            errors.Add(new(resource, "spec.kafka.listeners", "at least one listener is required"));
            return [];
        }

        var result = new List<ListenerModel>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var ports = new Dictionary<int, int>();
        for (var i = 0; i < listeners.Count; i++)
        {
            var l = listeners[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"spec.kafka.listeners[{i}]");
            var before = errors.Count;
            if (l.Name is null || !ListenerName().IsMatch(l.Name))
            {
                errors.Add(new(resource, at + ".name", $"'{l.Name}' must match ^[a-z0-9]{{1,11}}$"));
            }
            else if (names.TryGetValue(l.Name, out var first))
            {
                errors.Add(new(resource, at + ".name", string.Create(CultureInfo.InvariantCulture, $"duplicate listener name '{l.Name}' (also spec.kafka.listeners[{first}])")));
            }
            else
            {
                names[l.Name] = i;
            }

            if (l.Port is not { } port)
            {
                errors.Add(new(resource, at + ".port", "is required"));
            }
            else if (port < 9092 || port > 65535)
            {
                errors.Add(new(resource, at + ".port", string.Create(CultureInfo.InvariantCulture, $"{port} is outside 9092..65535 (lower ports belong to the operator: 9090 control plane, 9091 replication, 8080 health)")));
            }
            else if (ReservedPorts.Contains(port))
            {
                errors.Add(new(resource, at + ".port", string.Create(CultureInfo.InvariantCulture, $"{port} is reserved (9404 metrics, 9999 JMX)")));
            }
            else if (ports.TryGetValue(port, out var first))
            {
                errors.Add(new(resource, at + ".port", string.Create(CultureInfo.InvariantCulture, $"duplicate port {port} (also spec.kafka.listeners[{first}])")));
            }
            else
            {
                ports[port] = i;
            }

            switch (l.Type)
            {
                case null:
                    errors.Add(new(resource, at + ".type", "is required"));
                    break;
                case ListenerModel.TlsRoute:
                    errors.Add(new(resource, at + ".type", "tlsroute (Gateway API) listeners are not supported yet"));
                    break;
                case ListenerModel.Route or ListenerModel.Ingress when l.Tls != true:
                    errors.Add(new(resource, at + ".tls", $"must be true for {l.Type} listeners (they pass TLS through)"));
                    break;
                case ListenerModel.Ingress when l.Configuration?.Bootstrap?.Host is null:
                    errors.Add(new(resource, at + ".configuration.bootstrap.host", "is required for ingress listeners"));
                    break;
                case ListenerModel.Ingress when l.Configuration?.HostTemplate is null:
                    errors.Add(new(resource, at + ".configuration.hostTemplate", "is required for ingress listeners (per-node hosts, e.g. broker-{nodeId}.example.com)"));
                    break;
                case ListenerModel.Internal or ListenerModel.Route or ListenerModel.LoadBalancer or ListenerModel.NodePort or ListenerModel.Ingress or ListenerModel.ClusterIp:
                    break;
                default:
                    errors.Add(new(resource, at + ".type", $"unknown listener type '{l.Type}'"));
                    break;
            }

            if (l.Authentication?.Type is "oauth" or "custom")
            {
                errors.Add(new(resource, at + ".authentication.type", $"{l.Authentication.Type} authentication is not supported by this broker"));
            }

            if (errors.Count == before)
            {
                result.Add(ListenerModel.From(l));
                if (l.Type == ListenerModel.Route)
                {
                    warnings.Add(new("ListenerRoute", $"listener {l.Name}: OpenShift Routes are not generated yet; only its Services are"));
                }
            }
        }

        return result;
    }

    public static ImmutableSortedDictionary<string, string> UserConfig(
        string resource, JsonObject? config, IReadOnlyList<ListenerModel> listeners, List<ValidationError> errors)
    {
        var result = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var prefixes = listeners.Select(l => l.ConfigPrefix).ToList();
        foreach (var (key, value) in config ?? [])
        {
            if (!ConfigRules.IsAllowed(key, prefixes))
            {
                errors.Add(new(resource, "spec.kafka.config." + key, "is managed by the operator and may not be set (Strimzi's forbidden configuration prefixes)"));
                continue;
            }

            if (value is JsonObject)
            {
                errors.Add(new(resource, "spec.kafka.config." + key, "must be a string, number, boolean or list"));
                continue;
            }

            result[key] = KafkaClusterModel.Format(value);
        }

        // Strimzi's default (KafkaConfiguration.DEFAULTS).
        result.TryAdd("min.insync.replicas", "1");
        return result.ToImmutable();
    }

    /// <summary>Checks a node pool; returns its roles, or null when it has errors.</summary>
    public static (bool Broker, bool Controller)? NodePool(string resource, KafkaNodePool pool, Storage? current, List<ValidationError> errors)
    {
        var before = errors.Count;
        var spec = pool.Spec;
        if (spec is null)
        {
            errors.Add(new(resource, "spec", "is required"));
            return null;
        }

        if (spec.Replicas is null or < 0)
        {
            errors.Add(new(resource, "spec.replicas", "is required and must be >= 0"));
        }

        var roles = spec.Roles ?? [];
        if (roles.Count == 0)
        {
            errors.Add(new(resource, "spec.roles", "needs at least one of broker, controller"));
        }

        for (var i = 0; i < roles.Count; i++)
        {
            if (roles[i] is not (KafkaNodePool.BrokerRole or KafkaNodePool.ControllerRole))
            {
                errors.Add(new(resource, string.Create(CultureInfo.InvariantCulture, $"spec.roles[{i}]"), $"unknown role '{roles[i]}'"));
            }
        }

        if (spec.Storage is null)
        {
            errors.Add(new(resource, "spec.storage", "is required"));
        }
        else
        {
            Storage(resource, "spec.storage", spec.Storage, current, errors);
        }

        return errors.Count == before ? (roles.Contains(KafkaNodePool.BrokerRole), roles.Contains(KafkaNodePool.ControllerRole)) : null;
    }

    /// <summary>Checks a storage spec, and against the deployed one that no volume shrinks or changes type.</summary>
    public static void Storage(string resource, string at, Storage storage, Storage? current, List<ValidationError> errors)
    {
        switch (storage.Type)
        {
            case Api.Storage.Jbod:
                var volumes = storage.Volumes ?? [];
                if (volumes.Count == 0)
                {
                    errors.Add(new(resource, at + ".volumes", "jbod storage needs at least one volume"));
                }

                var ids = new HashSet<int>();
                for (var i = 0; i < volumes.Count; i++)
                {
                    var vat = string.Create(CultureInfo.InvariantCulture, $"{at}.volumes[{i}]");
                    var volume = volumes[i];
                    if (volume.Id is not { } id)
                    {
                        errors.Add(new(resource, vat + ".id", "is required inside jbod"));
                    }
                    else if (!ids.Add(id))
                    {
                        errors.Add(new(resource, vat + ".id", string.Create(CultureInfo.InvariantCulture, $"duplicate volume id {id}")));
                    }

                    if (volume.Type == Api.Storage.Jbod)
                    {
                        errors.Add(new(resource, vat + ".type", "jbod volumes cannot nest jbod"));
                        continue;
                    }

                    Single(resource, vat, volume, current?.Type == Api.Storage.Jbod ? current.Volumes?.FirstOrDefault(v => v.Id == volume.Id) : null, errors);
                }

                if (volumes.Count(v => v.KraftMetadata == "shared") > 1)
                {
                    errors.Add(new(resource, at + ".volumes", "at most one volume may have kraftMetadata: shared"));
                }

                break;
            case Api.Storage.Ephemeral or Api.Storage.PersistentClaim:
                Single(resource, at, storage, current?.Type == Api.Storage.Jbod ? null : current, errors);
                break;
            default:
                errors.Add(new(resource, at + ".type", $"'{storage.Type}' is not one of ephemeral, persistent-claim, jbod"));
                return;
        }

        if (current is not null && current.Type != storage.Type)
        {
            errors.Add(new(resource, at + ".type", $"storage cannot change from {current.Type} to {storage.Type}"));
        }
    }

    private static void Single(string resource, string at, Storage volume, Storage? current, List<ValidationError> errors)
    {
        if (volume.Type == Api.Storage.PersistentClaim)
        {
            if (volume.Size is null)
            {
                errors.Add(new(resource, at + ".size", "is required for persistent-claim storage"));
            }
            else if (!TryQuantity(volume.Size, out var size))
            {
                errors.Add(new(resource, at + ".size", $"'{volume.Size}' is not a quantity"));
            }
            else if (current?.Type == Api.Storage.PersistentClaim && current.Size is not null && TryQuantity(current.Size, out var was) && size < was)
            {
                errors.Add(new(resource, at + ".size", $"cannot shrink from {current.Size} to {volume.Size}; volumes can only grow"));
            }
        }

        if (volume.SizeLimit is not null && !TryQuantity(volume.SizeLimit, out _))
        {
            errors.Add(new(resource, at + ".sizeLimit", $"'{volume.SizeLimit}' is not a quantity"));
        }

        if (current is not null && current.Type != volume.Type && current.Type != Api.Storage.Jbod)
        {
            errors.Add(new(resource, at + ".type", $"cannot change from {current.Type} to {volume.Type}"));
        }
    }

    /// <summary>Warnings for legacy sections that are accepted but have no effect.</summary>
    public static void Legacy(Kafka kafka, bool hasPools, List<ModelWarning> warnings)
    {
        var spec = kafka.Spec!;
        if (spec.Zookeeper is not null)
        {
            warnings.Add(new("ZooKeeperIgnored", "spec.zookeeper is ignored: this cluster runs in KRaft mode, with controller nodes instead of ZooKeeper"));
        }

        if (hasPools && (spec.Kafka!.Replicas is not null || spec.Kafka.Storage is not null))
        {
            warnings.Add(new("DeprecatedFields", "spec.kafka.replicas and spec.kafka.storage are ignored because KafkaNodePools define the nodes"));
        }

        if (spec.Kafka!.Version is { } version && !version.StartsWith("4.", StringComparison.Ordinal))
        {
            warnings.Add(new("KafkaVersion", $"spec.kafka.version {version} is recorded but not used: the broker image implements the Kafka 4.x protocol in KRaft mode"));
        }

        if (spec.Kafka.Rack is not null)
        {
            warnings.Add(new("RackIgnored", "spec.kafka.rack is not applied yet (no broker.rack init container)"));
        }

        if (spec.Kafka.Metrics is not null || spec.Kafka.MetricsConfig is not null)
        {
            warnings.Add(new("MetricsConfigIgnored", "JMX exporter rules do not apply: the broker serves Prometheus metrics on port 9404 itself"));
        }
    }

    public static bool TryQuantity(string text, out decimal value)
    {
        value = 0;
        try
        {
            value = new ResourceQuantity(text).ToDecimal();
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex("^[a-z0-9]{1,11}$")]
    private static partial Regex ListenerName();
}
