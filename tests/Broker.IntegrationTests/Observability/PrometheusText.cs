using System.Globalization;

namespace Broker.IntegrationTests.Observability;

/// <summary>
/// A parser of the Prometheus text exposition format (0.0.4), enough to check a scrape: # HELP / # TYPE lines,
/// samples <c>name{label="value",...} value [timestamp]</c> with escaped label values. Malformed input throws,
/// so a scrape that is not valid text format fails the test. Immutable once parsed; thread-safe.
/// </summary>
internal sealed class PrometheusText
{
    private readonly List<Sample> _samples = [];
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    private PrometheusText()
    {
    }

    public IReadOnlyList<Sample> Samples => _samples;

    /// <summary>Metric family name to its # TYPE (counter, gauge, histogram ...).</summary>
    public IReadOnlyDictionary<string, string> Types => _types;

    public static PrometheusText Parse(string text)
    {
        var result = new PrometheusText();
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 4 && parts[1] == "TYPE")
                {
                    result._types[parts[2]] = parts[3];
                }

                continue;
            }

            try
            {
                result._samples.Add(ParseSample(line));
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {lineNumber} is not a valid sample: '{line}': {e.Message}", e);
            }
        }

        return result;
    }

    /// <summary>Every sample of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    public IEnumerable<Sample> Find(string name, params (string Key, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    /// <summary>The value of the single sample matching; fails if there is none or more than one.</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var matches = Find(name, labels).ToList();
        Assert.True(matches.Count == 1,
            $"expected one sample of {name}{{{string.Join(",", labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}}, found {matches.Count}");
        return matches[0].Value;
    }

    private static Sample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        if (i == 0 || char.IsAsciiDigit(line[0]))
        {
            throw new FormatException("no metric name");
        }

        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                if (eq < 0 || line[eq + 1] != '"')
                {
                    throw new FormatException("label without =\"");
                }

                var key = line[i..eq].Trim();
                var value = new System.Text.StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch { 'n' => '\n', '\\' => '\\', '"' => '"', _ => throw new FormatException("bad escape") });
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                labels.Add(key, value.ToString());
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++;
        }

        if (i >= line.Length || line[i] != ' ')
        {
            throw new FormatException("no space before the value");
        }

        var fields = line[(i + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is < 1 or > 2)
        {
            throw new FormatException("expected a value and an optional timestamp");
        }

        var number = fields[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, number);
    }

    /// <summary>One sample line. Immutable.</summary>
    internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
}
