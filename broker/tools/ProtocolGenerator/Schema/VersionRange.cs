using System.Globalization;

namespace ProtocolGenerator.Schema;

/// <summary>
/// An inclusive range of message versions as written in the schema JSON ("3+", "0-2", "5", "none").
/// Kafka schemas only ever use contiguous ranges. Immutable; thread-safe.
/// </summary>
public readonly record struct VersionRange(short Lo, short Hi)
{
    public static VersionRange None => new(1, 0);

    public static VersionRange All => new(0, short.MaxValue);

    public bool IsEmpty => Lo > Hi;

    public bool IsOpenEnded => !IsEmpty && Hi == short.MaxValue;

    public bool Contains(short version) => version >= Lo && version <= Hi;

    /// <summary>True when every version of <paramref name="other"/> is also in this range.</summary>
    public bool Covers(VersionRange other) => other.IsEmpty || (!IsEmpty && Lo <= other.Lo && Hi >= other.Hi);

    public VersionRange Intersect(VersionRange other)
    {
        var result = new VersionRange(Math.Max(Lo, other.Lo), Math.Min(Hi, other.Hi));
        return result.IsEmpty ? None : result;
    }

    /// <summary>Smallest range containing both (the union when they touch, which is the only case that matters here).</summary>
    public VersionRange Hull(VersionRange other)
    {
        if (IsEmpty)
        {
            return other;
        }

        return other.IsEmpty ? this : new VersionRange(Math.Min(Lo, other.Lo), Math.Max(Hi, other.Hi));
    }

    public static VersionRange Parse(string? text, VersionRange fallback)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        text = text.Trim();
        if (text == "none")
        {
            return None;
        }

        if (text.EndsWith('+'))
        {
            return new VersionRange(ParseShort(text[..^1], text), short.MaxValue);
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            return new VersionRange(ParseShort(text[..dash], text), ParseShort(text[(dash + 1)..], text));
        }

        var single = ParseShort(text, text);
        return new VersionRange(single, single);
    }

    private static short ParseShort(string part, string whole) =>
        short.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"Invalid version range '{whole}'.");

    public override string ToString()
    {
        if (IsEmpty)
        {
            return "none";
        }

        if (IsOpenEnded)
        {
            return Lo.ToString(CultureInfo.InvariantCulture) + "+";
        }

        return Lo == Hi
            ? Lo.ToString(CultureInfo.InvariantCulture)
            : Lo.ToString(CultureInfo.InvariantCulture) + "-" + Hi.ToString(CultureInfo.InvariantCulture);
    }
}
