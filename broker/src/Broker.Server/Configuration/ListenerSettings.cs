using System.Collections.Frozen;

namespace Broker.Server.Configuration;

/// <summary>
/// The listener-related keys resolved together, because they constrain each other: listeners,
/// advertised.listeners, listener.security.protocol.map, inter.broker.listener.name and
/// controller.listener.names. Immutable; thread-safe.
/// </summary>
internal sealed record ListenerSettings(
    IReadOnlyList<ListenerDefinition> Listeners,
    IReadOnlyList<ListenerDefinition> AdvertisedListeners,
    FrozenDictionary<string, SecurityProtocol> SecurityProtocolMap,
    string InterBrokerListenerName,
    IReadOnlyList<string> ControllerListenerNames)
{
    /// <summary>Controller listeners named in advertised.listeners (Kafka 3.9+): the controller's own advertised
    /// endpoints, kept out of <see cref="AdvertisedListeners"/>. Empty when none is advertised.</summary>
    public IReadOnlyList<ListenerDefinition> AdvertisedControllerListeners { get; init; } = [];

    /// <summary>The address advertised for a listener bound to every interface (Kafka would use the hostname).</summary>
    public const string LoopbackHost = "127.0.0.1";

    public static ListenerSettings Resolve(Func<string, object?> value, Func<string, bool> isSet, bool isBroker, bool isController)
    {
        var map = ParseProtocolMap((IReadOnlyList<string>)value(ConfigNames.ListenerSecurityProtocolMap)!);
        var mapIsExplicit = isSet(ConfigNames.ListenerSecurityProtocolMap);
        var controllerNames = ((IReadOnlyList<string>?)value(ConfigNames.ControllerListenerNames) ?? [])
            .Select(n => n.ToUpperInvariant()).ToArray();

        // Like Kafka, a controller listener missing from the default map is taken as PLAINTEXT.
        if (!mapIsExplicit)
        {
            foreach (var name in controllerNames)
            {
                map.TryAdd(name, SecurityProtocol.Plaintext);
            }
        }

        var listeners = ParseEndpoints(ConfigNames.Listeners, (IReadOnlyList<string>)value(ConfigNames.Listeners)!, map, advertise: false);
        RequireDistinct(ConfigNames.Listeners, listeners);

        var listenerNames = listeners.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in controllerNames)
        {
            if (isController && !listenerNames.Contains(name))
            {
                throw ConfigException.InvalidValue(ConfigNames.ControllerListenerNames, string.Join(',', controllerNames),
                    $"controller listener {name} is not defined in listeners");
            }

            if (!isController && listenerNames.Contains(name))
            {
                throw ConfigException.InvalidValue(ConfigNames.ControllerListenerNames, string.Join(',', controllerNames),
                    $"a node without the controller role must not listen on controller listener {name}");
            }
        }

        IReadOnlyList<ListenerDefinition> advertised;
        var advertisedRaw = (IReadOnlyList<string>?)value(ConfigNames.AdvertisedListeners);
        IReadOnlyList<ListenerDefinition> advertisedControllers = [];
        if (advertisedRaw is null)
        {
            var brokerFacing = listeners.Where(l => !controllerNames.Contains(l.Name)).ToArray();
            advertised = (brokerFacing.Length > 0 ? brokerFacing : [.. listeners]).Select(Advertisable).ToArray();
        }
        else
        {
            var all = ParseEndpoints(ConfigNames.AdvertisedListeners, advertisedRaw, map, advertise: true);
            RequireDistinct(ConfigNames.AdvertisedListeners, all);
            foreach (var endpoint in all)
            {
                if (!listenerNames.Contains(endpoint.Name))
                {
                    throw ConfigException.InvalidValue(ConfigNames.AdvertisedListeners, string.Join(',', advertisedRaw),
                        $"listener {endpoint.Name} is not defined in listeners");
                }
            }

            // Kafka 3.9+ (KIP-853): a controller listener in advertised.listeners is the controller's own advertised
            // endpoint; the broker advertises the others (Kafka's effectiveAdvertisedBrokerListeners).
            advertised = [.. all.Where(l => !controllerNames.Contains(l.Name))];
            advertisedControllers = [.. all.Where(l => controllerNames.Contains(l.Name))];
        }

        var interBroker = ResolveInterBrokerListener(value, isSet);
        if (isBroker && !advertised.Any(l => l.Name == interBroker))
        {
            throw ConfigException.InvalidValue(ConfigNames.InterBrokerListenerName, interBroker,
                $"must be a listener name defined in advertised.listeners ({string.Join(", ", advertised.Select(l => l.Name))})");
        }

        if (isBroker && controllerNames.Contains(interBroker))
        {
            throw ConfigException.InvalidValue(ConfigNames.InterBrokerListenerName, interBroker, "must not be a controller listener");
        }

        return new(listeners, advertised, map.ToFrozenDictionary(StringComparer.Ordinal), interBroker, controllerNames)
        {
            AdvertisedControllerListeners = advertisedControllers,
        };
    }

    private static string ResolveInterBrokerListener(Func<string, object?> value, Func<string, bool> isSet)
    {
        var name = (string?)value(ConfigNames.InterBrokerListenerName);
        if (name is null)
        {
            return ((string)value(ConfigNames.SecurityInterBrokerProtocol)!).ToUpperInvariant();
        }

        if (isSet(ConfigNames.SecurityInterBrokerProtocol))
        {
            throw new ConfigException(
                $"Only one of {ConfigNames.InterBrokerListenerName} and {ConfigNames.SecurityInterBrokerProtocol} may be set.")
            { Key = ConfigNames.InterBrokerListenerName };
        }

        return name.ToUpperInvariant();
    }

    private static Dictionary<string, SecurityProtocol> ParseProtocolMap(IReadOnlyList<string> entries)
    {
        var map = new Dictionary<string, SecurityProtocol>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var name = colon > 0 ? entry[..colon].Trim().ToUpperInvariant() : string.Empty;
            if (name.Length == 0 || !SecurityProtocols.TryParse(entry[(colon + 1)..], out var protocol))
            {
                throw ConfigException.InvalidValue(ConfigNames.ListenerSecurityProtocolMap, string.Join(',', entries),
                    $"entry '{entry}' is not NAME:PROTOCOL with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
            }

            if (!map.TryAdd(name, protocol))
            {
                throw ConfigException.InvalidValue(ConfigNames.ListenerSecurityProtocolMap, string.Join(',', entries),
                    $"listener {name} is mapped twice");
            }
        }

        return map;
    }

    private static ListenerDefinition[] ParseEndpoints(string key, IReadOnlyList<string> items, Dictionary<string, SecurityProtocol> map, bool advertise)
    {
        var result = new ListenerDefinition[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (!ListenerDefinition.TryParse(items[i], out var name, out var host, out var port, out var error))
            {
                throw ConfigException.InvalidValue(key, string.Join(',', items), error);
            }

            if (!map.TryGetValue(name, out var protocol))
            {
                throw ConfigException.InvalidValue(key, string.Join(',', items),
                    $"no security protocol is defined for listener {name} in {ConfigNames.ListenerSecurityProtocolMap}");
            }

            var endpoint = new ListenerDefinition(name, host, port, protocol);
            result[i] = advertise ? Advertisable(endpoint) : endpoint;
        }

        return result;
    }

    private static void RequireDistinct(string key, IReadOnlyList<ListenerDefinition> endpoints)
    {
        for (var i = 0; i < endpoints.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (endpoints[i].Name == endpoints[j].Name)
                {
                    throw ConfigException.InvalidValue(key, string.Join(',', endpoints), $"listener name {endpoints[i].Name} is used twice");
                }

                if (endpoints[i].Port != 0 && endpoints[i].Port == endpoints[j].Port && endpoints[i].Host == endpoints[j].Host)
                {
                    throw ConfigException.InvalidValue(key, string.Join(',', endpoints), $"port {endpoints[i].Port} is used twice");
                }
            }
        }
    }

    private static ListenerDefinition Advertisable(ListenerDefinition endpoint) =>
        endpoint.Host is "" or "0.0.0.0" or "::" ? endpoint with { Host = LoopbackHost } : endpoint;
}
