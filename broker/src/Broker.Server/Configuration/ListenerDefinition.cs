using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Broker.Server.Configuration;

/// <summary>Kafka's security protocols, with their wire ids (as in broker registrations).</summary>
public enum SecurityProtocol : short
{
    Plaintext = 0,
    Ssl = 1,
    SaslPlaintext = 2,
    SaslSsl = 3,
}

/// <summary>
/// One listener endpoint, <c>NAME://host:port</c>. <see cref="Name"/> is upper-cased as Kafka normalises
/// listener names; <see cref="Host"/> is empty for "all interfaces" in <c>listeners</c> and never has
/// brackets (an IPv6 literal is bracketed again by <see cref="ToString"/>). Immutable; thread-safe.
/// </summary>
public sealed record ListenerDefinition(string Name, string Host, int Port, SecurityProtocol SecurityProtocol)
{
    /// <summary>The endpoint in configuration syntax, e.g. <c>PLAINTEXT://[::1]:9092</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Name}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}");

    /// <summary>Parses <c>NAME://host:port</c>, <c>NAME://:port</c> or <c>NAME://[ipv6]:port</c>.</summary>
    /// <returns>False, with the reason in <paramref name="error"/>, when the text is not a listener.</returns>
    public static bool TryParse(string text, out string name, out string host, out int port, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        name = host = string.Empty;
        port = 0;
        error = Check(text, ref name, ref host, ref port);
        return error is null;
    }

    private static string? Check(string text, ref string name, ref string host, ref int port)
    {
        var separator = text.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return $"'{text}' is not NAME://host:port";
        }

        name = text[..separator].Trim().ToUpperInvariant();
        var rest = text[(separator + 3)..];
        string portText;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= rest.Length || rest[close + 1] != ':')
            {
                return $"'{text}' has a malformed [IPv6] host";
            }

            host = rest[1..close];
            portText = rest[(close + 2)..];
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            if (colon < 0)
            {
                return $"'{text}' has no port";
            }

            host = rest[..colon];
            portText = rest[(colon + 1)..];
        }

        if (host.AsSpan().IndexOfAny(" \t[]/") >= 0)
        {
            return $"'{text}' has an invalid host '{host}'";
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535)
        {
            return $"'{text}' has an invalid port '{portText}' (expected 0 to 65535)";
        }

        return null;
    }
}

/// <summary>Parsing of <c>NAME:PROTOCOL</c> security protocol names. Stateless; thread-safe.</summary>
public static class SecurityProtocols
{
    public static bool TryParse(string name, out SecurityProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.Trim().ToUpperInvariant())
        {
            case "PLAINTEXT": protocol = SecurityProtocol.Plaintext; return true;
            case "SSL": protocol = SecurityProtocol.Ssl; return true;
            case "SASL_PLAINTEXT": protocol = SecurityProtocol.SaslPlaintext; return true;
            case "SASL_SSL": protocol = SecurityProtocol.SaslSsl; return true;
            default: protocol = default; return false;
        }
    }

    /// <summary>The protocol's name as Kafka spells it (e.g. <c>SASL_SSL</c>).</summary>
    public static string ToName(this SecurityProtocol protocol) => protocol switch
    {
        SecurityProtocol.Plaintext => "PLAINTEXT",
        SecurityProtocol.Ssl => "SSL",
        SecurityProtocol.SaslPlaintext => "SASL_PLAINTEXT",
        SecurityProtocol.SaslSsl => "SASL_SSL",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };
}
