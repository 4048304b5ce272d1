using System.Text.Json.Nodes;

namespace Kube.ApiServer.Selectors;

/// <summary>
/// A parsed label selector (query syntax or meta/v1 LabelSelector). Requirements are ANDed.
/// Immutable; thread-safe.
/// </summary>
internal sealed class LabelSelector
{
    private readonly List<Requirement> _requirements;

    private LabelSelector(List<Requirement> requirements) => _requirements = requirements;

    public static LabelSelector Everything { get; } = new([]);

    /// <summary>Parses "a=b,c!=d,e in (x,y),f notin (z),g,!h"; throws <see cref="FormatException"/> on bad syntax.</summary>
    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }
        var reqs = new List<Requirement>();
        foreach (var term in SplitTerms(text))
        {
            var t = term.Trim();
            if (t.Length == 0)
            {
                continue;
            }
            if (t.StartsWith('!'))
            {
                reqs.Add(new Requirement(t[1..].Trim(), Op.DoesNotExist, []));
            }
            else if (TrySetOp(t, " notin ", Op.NotIn, reqs) || TrySetOp(t, " in ", Op.In, reqs))
            {
            }
            else if (t.Contains("!=", StringComparison.Ordinal))
            {
                var i = t.IndexOf("!=", StringComparison.Ordinal);
                reqs.Add(new Requirement(t[..i].Trim(), Op.NotEquals, [t[(i + 2)..].Trim()]));
            }
            else if (t.Contains('='))
            {
                var i = t.IndexOf('=', StringComparison.Ordinal);
                var value = t[(i + 1)..].TrimStart('=').Trim();
                reqs.Add(new Requirement(t[..i].Trim(), Op.Equals, [value]));
            }
            else
            {
                reqs.Add(new Requirement(t, Op.Exists, []));
            }
        }
        return new LabelSelector(reqs);
    }

    /// <summary>From a meta/v1 LabelSelector object (matchLabels and matchExpressions).</summary>
    public static LabelSelector FromJson(JsonObject? selector)
    {
        var reqs = new List<Requirement>();
        if (selector?["matchLabels"] is JsonObject ml)
        {
            foreach (var (k, v) in ml)
            {
                reqs.Add(new Requirement(k, Op.Equals, [v?.GetValue<string>() ?? ""]));
            }
        }
        if (selector?["matchExpressions"] is JsonArray exprs)
        {
            foreach (var e in exprs)
            {
                var key = e?["key"]?.GetValue<string>() ?? "";
                var values = (e?["values"] as JsonArray)?.Select(v => v?.GetValue<string>() ?? "").ToArray() ?? [];
                var op = e?["operator"]?.GetValue<string>() switch
                {
                    "In" => Op.In,
                    "NotIn" => Op.NotIn,
                    "Exists" => Op.Exists,
                    _ => Op.DoesNotExist,
                };
                reqs.Add(new Requirement(key, op, values));
            }
        }
        return new LabelSelector(reqs);
    }

    public bool Matches(JsonObject? labels)
    {
        foreach (var r in _requirements)
        {
            var has = labels is not null && labels.ContainsKey(r.Key);
            var value = has ? labels![r.Key]?.GetValue<string>() ?? "" : null;
            var ok = r.Operator switch
            {
                Op.Equals => value == r.Values[0],
                Op.NotEquals => value != r.Values[0],
                Op.In => value is not null && r.Values.Contains(value),
                Op.NotIn => value is null || !r.Values.Contains(value),
                Op.Exists => has,
                _ => !has,
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    private static bool TrySetOp(string term, string word, Op op, List<Requirement> reqs)
    {
        var i = term.IndexOf(word, StringComparison.Ordinal);
        if (i < 0)
        {
            return false;
        }
        var rest = term[(i + word.Length)..].Trim();
        if (!rest.StartsWith('(') || !rest.EndsWith(')'))
        {
            throw new FormatException($"unable to parse requirement: found '{rest}', expected: '('");
        }
        var values = rest[1..^1].Split(',').Select(v => v.Trim()).Where(v => v.Length > 0).ToArray();
        reqs.Add(new Requirement(term[..i].Trim(), op, values));
        return true;
    }

    private static IEnumerable<string> SplitTerms(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }
        yield return text[start..];
    }

    private enum Op
    {
        Equals,
        NotEquals,
        In,
        NotIn,
        Exists,
        DoesNotExist,
    }

    private sealed record Requirement(string Key, Op Operator, string[] Values);
}
