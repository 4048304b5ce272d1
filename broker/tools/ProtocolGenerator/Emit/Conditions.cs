using System.Globalization;
using ProtocolGenerator.Schema;

namespace ProtocolGenerator.Emit;

/// <summary>
/// Builds C# boolean expressions over the local "version", simplified against the versions the code can run
/// at (the hull). The constants "true" and "false" are folded by the callers. Stateless.
/// </summary>
internal static class Conditions
{
    public static string InVersions(VersionRange range, VersionRange hull)
    {
        var x = range.Intersect(hull);
        if (x.IsEmpty)
        {
            return "false";
        }

        var needLow = x.Lo > hull.Lo;
        var needHigh = x.Hi < hull.Hi;
        var lo = x.Lo.ToString(CultureInfo.InvariantCulture);
        var hi = x.Hi.ToString(CultureInfo.InvariantCulture);
        if (needLow && needHigh)
        {
            return x.Lo == x.Hi ? $"version == {lo}" : $"version >= {lo} && version <= {hi}";
        }

        if (needLow)
        {
            return $"version >= {lo}";
        }

        return needHigh ? $"version <= {hi}" : "true";
    }

    public static string And(string a, string b)
    {
        if (a == "false" || b == "false")
        {
            return "false";
        }

        if (a == "true")
        {
            return b;
        }

        return b == "true" ? a : $"{Group(a)} && {Group(b)}";
    }

    public static string Not(string a) => a switch
    {
        "true" => "false",
        "false" => "true",
        _ => $"!({a})",
    };

    /// <summary>"c ? a : b", folded when c is constant. Wrap in <see cref="Paren"/> before nesting.</summary>
    public static string Pick(string condition, string whenTrue, string whenFalse) => condition switch
    {
        "true" => whenTrue,
        "false" => whenFalse,
        _ => $"{Group(condition)} ? {whenTrue} : {whenFalse}",
    };

    public static string Paren(string e) => e.Contains('?', StringComparison.Ordinal) ? $"({e})" : e;

    // Parenthesize anything but a single operand or a chain of "&&" (which composes safely with "&&").
    private static string Group(string e) =>
        e.Contains("||", StringComparison.Ordinal) || e.Contains('?', StringComparison.Ordinal) ? $"({e})" : e;
}
