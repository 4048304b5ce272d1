using System.Globalization;
using System.Text;

namespace Broker.Server.Configuration;

/// <summary>
/// Parses the Java <c>.properties</c> format: <c>#</c> and <c>!</c> comment lines, <c>key=value</c>,
/// <c>key: value</c> and <c>key value</c>, a trailing odd backslash continuing the line (the next line's
/// leading blanks dropped), and the escapes <c>\t \n \r \f \uXXXX</c> (any other escaped character stands
/// for itself). Unlike <c>java.util.Properties.load(InputStream)</c> the text is taken as already decoded,
/// so UTF-8 files work. Stateless; thread-safe.
/// </summary>
public static class JavaProperties
{
    /// <summary>Returns the entries in file order; a key may appear more than once (the last one wins when merged).</summary>
    /// <exception cref="ConfigException">A malformed <c>\u</c> escape.</exception>
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<KeyValuePair<string, string>>();
        var logical = new StringBuilder();
        var pos = 0;
        var lineNumber = 0;
        while (pos < text.Length)
        {
            var line = ReadNaturalLine(text, ref pos);
            lineNumber++;
            var start = SkipBlanks(line, 0);
            if (start == line.Length || line[start] == '#' || line[start] == '!')
            {
                continue;
            }

            var firstLine = lineNumber;
            logical.Clear().Append(line, start, line.Length - start);
            while (EndsWithOddBackslashes(logical))
            {
                logical.Length--;
                if (pos >= text.Length)
                {
                    break;
                }

                var next = ReadNaturalLine(text, ref pos);
                lineNumber++;
                var nextStart = SkipBlanks(next, 0);
                logical.Append(next, nextStart, next.Length - nextStart);
            }

            entries.Add(ParseLogicalLine(logical.ToString(), firstLine));
        }

        return entries;
    }

    private static string ReadNaturalLine(string text, ref int pos)
    {
        var start = pos;
        var end = text.AsSpan(start).IndexOfAny('\r', '\n');
        if (end < 0)
        {
            pos = text.Length;
            return text[start..];
        }

        end += start;
        pos = end + 1;
        if (text[end] == '\r' && pos < text.Length && text[pos] == '\n')
        {
            pos++;
        }

        return text[start..end];
    }

    private static int SkipBlanks(string s, int i)
    {
        while (i < s.Length && IsBlank(s[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsBlank(char c) => c is ' ' or '\t' or '\f';

    private static bool EndsWithOddBackslashes(StringBuilder sb)
    {
        var count = 0;
        for (var i = sb.Length - 1; i >= 0 && sb[i] == '\\'; i--)
        {
            count++;
        }

        return (count & 1) == 1;
    }

    private static KeyValuePair<string, string> ParseLogicalLine(string line, int lineNumber)
    {
        // The key ends at the first unescaped separator or blank.
        var keyEnd = 0;
        while (keyEnd < line.Length)
        {
            var c = line[keyEnd];
            if (c == '\\')
            {
                keyEnd += 2;
                continue;
            }

            if (c is '=' or ':' || IsBlank(c))
            {
                break;
            }

            keyEnd++;
        }

        keyEnd = Math.Min(keyEnd, line.Length);
        var valueStart = SkipBlanks(line, keyEnd);
        if (valueStart < line.Length && line[valueStart] is '=' or ':')
        {
            valueStart = SkipBlanks(line, valueStart + 1);
        }

        var key = Unescape(line.AsSpan(0, keyEnd), lineNumber);
        var value = Unescape(line.AsSpan(valueStart), lineNumber);
        return new(key, value);
    }

    private static string Unescape(ReadOnlySpan<char> s, int lineNumber)
    {
        if (s.IndexOf('\\') < 0)
        {
            return s.ToString();
        }

        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            if (++i == s.Length)
            {
                break; // A lone trailing backslash at the end of the input stands for nothing.
            }

            c = s[i];
            switch (c)
            {
                case 't': sb.Append('\t'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 'f': sb.Append('\f'); break;
                case 'u':
                    if (i + 4 >= s.Length
                        || !ushort.TryParse(s.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new ConfigException($"Malformed \\uXXXX escape in the properties on line {lineNumber}.");
                    }

                    sb.Append((char)code);
                    i += 4;
                    break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }
}
