namespace Broker.Cli;

/// <summary>Parses repeated <c>key=value</c> option values. Stateless; thread-safe.</summary>
internal static class KeyValueArguments
{
    /// <summary>Splits each item at its first '='; a later duplicate key wins.</summary>
    /// <exception cref="FormatException">An item has no '=' or an empty key.</exception>
    public static Dictionary<string, string> Parse(IEnumerable<string>? items, string optionName)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items ?? [])
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            var key = eq > 0 ? item[..eq].Trim() : string.Empty;
            if (key.Length == 0)
            {
                throw new FormatException($"Invalid {optionName} '{item}': expected key=value.");
            }

            result[key] = item[(eq + 1)..];
        }

        return result;
    }
}
