using System.Collections;
using System.Globalization;
using System.Text;

namespace Operator.Chart.Tests.Templates;

/// <summary>
/// Executes parsed templates over values made of <see cref="Dictionary{TKey,TValue}"/> (string keys), <see cref="List{T}"/>,
/// strings, booleans, longs, doubles and null, with Helm's functions that the chart uses: include, default, quote,
/// toYaml, indent, nindent, trim, eq, ne, not, and, or, dict, join, empty. One difference from Helm, on purpose: writing
/// a missing value fails instead of printing nothing, so a misspelt value name cannot pass unnoticed. Immutable after
/// construction; thread-safe.
/// </summary>
internal sealed class TemplateRenderer
{
    private readonly IReadOnlyDictionary<string, IReadOnlyList<TemplateNode>> _defines;

    public TemplateRenderer(IReadOnlyDictionary<string, IReadOnlyList<TemplateNode>> defines) => _defines = defines;

    public string Render(string name, IReadOnlyList<TemplateNode> nodes, object? data)
    {
        var output = new StringBuilder();
        try
        {
            Execute(nodes, new Scope(data, data), output, 0);
        }
        catch (TemplateException e)
        {
            throw new TemplateException($"{name}: {e.Message}", e);
        }

        return output.ToString();
    }

    /// <summary>Go's truth: false, 0, nil, and empty strings, lists and maps are false.</summary>
    public static bool IsTrue(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        double d => d != 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    private void Execute(IReadOnlyList<TemplateNode> nodes, Scope scope, StringBuilder output, int depth)
    {
        if (depth > 100)
        {
            throw new TemplateException("include nesting deeper than 100 (recursive define?)");
        }

        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case OutputNode action:
                    output.Append(Print(Evaluate(action.Pipeline, scope, depth), action.Source));
                    break;
                case IfNode conditional:
                    Execute(IsTrue(Evaluate(conditional.Condition, scope, depth)) ? conditional.Then : conditional.Else, scope, output, depth);
                    break;
                case WithNode with:
                {
                    var value = Evaluate(with.Value, scope, depth);
                    if (IsTrue(value))
                    {
                        Execute(with.Body, scope with { Dot = value }, output, depth);
                    }
                    else
                    {
                        Execute(with.Else, scope, output, depth);
                    }

                    break;
                }

                case RangeNode range:
                {
                    var value = Evaluate(range.Source, scope, depth);
                    if (value is not (null or IList))
                    {
                        throw new TemplateException($"range over {Describe(value)} is outside the supported subset (lists only)");
                    }

                    if (value is IList { Count: > 0 } list)
                    {
                        foreach (var item in list)
                        {
                            Execute(range.Body, scope with { Dot = item }, output, depth);
                        }
                    }
                    else
                    {
                        Execute(range.Else, scope, output, depth);
                    }

                    break;
                }

                default:
                    throw new TemplateException($"unknown node {node.GetType().Name}");
            }
        }
    }

    private object? Evaluate(Pipeline pipeline, Scope scope, int depth)
    {
        object? result = null;
        for (var i = 0; i < pipeline.Commands.Count; i++)
        {
            var args = pipeline.Commands[i].Args;
            if (args[0] is FunctionOperand function)
            {
                var values = new List<object?>(args.Count);
                for (var a = 1; a < args.Count; a++)
                {
                    values.Add(Operand(args[a], scope, depth));
                }

                if (i > 0)
                {
                    values.Add(result);
                }

                result = Call(function.Name, values, depth);
            }
            else if (i > 0 || args.Count > 1)
            {
                throw new TemplateException($"{args[0]} is not a function and takes no arguments");
            }
            else
            {
                result = Operand(args[0], scope, depth);
            }
        }

        return result;
    }

    private object? Operand(Operand operand, Scope scope, int depth) => operand switch
    {
        LiteralOperand literal => literal.Value,
        PipelineOperand nested => Evaluate(nested.Pipeline, scope, depth),
        FieldOperand field => Field(field, field.FromDollar ? scope.Dollar : scope.Dot),
        FunctionOperand function => Call(function.Name, [], depth),
        _ => throw new TemplateException($"unknown operand {operand}"),
    };

    private static object? Field(FieldOperand field, object? value)
    {
        foreach (var name in field.Path)
        {
            value = value switch
            {
                null => throw new TemplateException($"nil pointer evaluating {field} (at .{name})"),
                IDictionary<string, object?> map => map.TryGetValue(name, out var v) ? v : null,
                _ => throw new TemplateException($"can't evaluate field {name} in {Describe(value)} ({field})"),
            };
        }

        return value;
    }

    private object? Call(string name, List<object?> args, int depth)
    {
        switch (name)
        {
            case "include":
                Arity(name, args, 2);
                var defineName = args[0] as string ?? throw new TemplateException("include needs a template name");
                if (!_defines.TryGetValue(defineName, out var body))
                {
                    throw new TemplateException($"no template \"{defineName}\" associated with include");
                }

                var output = new StringBuilder();
                Execute(body, new Scope(args[1], args[1]), output, depth + 1);
                return output.ToString();
            case "default":
                // Sprig: default DEFAULT GIVEN; a missing GIVEN (nothing piped) is empty.
                return args.Count switch
                {
                    1 => args[0],
                    2 => IsTrue(args[1]) ? args[1] : args[0],
                    _ => throw new TemplateException($"wrong number of args for default: want 1 or 2 got {args.Count}"),
                };
            case "quote":
                return string.Join(" ", args.Where(a => a is not null).Select(a => GoQuote(Text(a))));
            case "toYaml":
                Arity(name, args, 1);
                return YamlValues.ToYaml(args[0]);
            case "indent" or "nindent":
                Arity(name, args, 2);
                var pad = new string(' ', (int)(args[0] as long? ?? throw new TemplateException($"{name} needs a number of spaces")));
                var indented = pad + Text(args[1]).Replace("\n", "\n" + pad, StringComparison.Ordinal);
                return name == "nindent" ? "\n" + indented : indented;
            case "trim":
                Arity(name, args, 1);
                return Text(args[0]).Trim();
            case "eq" or "ne":
                Arity(name, args, 2);
                var equal = Equals(Normalize(args[0]), Normalize(args[1]));
                return name == "eq" ? equal : !equal;
            case "not":
                Arity(name, args, 1);
                return !IsTrue(args[0]);
            case "and":
                // Go: the first false argument, else the last.
                return args.FirstOrDefault(a => !IsTrue(a), args.Count > 0 ? args[^1] : null);
            case "or":
                return args.FirstOrDefault(IsTrue, args.Count > 0 ? args[^1] : null);
            case "empty":
                Arity(name, args, 1);
                return !IsTrue(args[0]);
            case "dict":
                if (args.Count % 2 != 0)
                {
                    throw new TemplateException("dict needs key/value pairs");
                }

                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                for (var i = 0; i < args.Count; i += 2)
                {
                    dict[Text(args[i])] = args[i + 1];
                }

                return dict;
            case "join":
                Arity(name, args, 2);
                return string.Join(Text(args[0]), (args[1] as IList ?? throw new TemplateException("join needs a list")).Cast<object?>().Select(Text));
            default:
                throw new TemplateException($"function \"{name}\" not defined (outside the supported subset)");
        }
    }

    private static void Arity(string name, List<object?> args, int count)
    {
        if (args.Count != count)
        {
            throw new TemplateException($"wrong number of args for {name}: want {count} got {args.Count}");
        }
    }

    private static object? Normalize(object? value) => value is double d && d == Math.Floor(d) && Math.Abs(d) < long.MaxValue ? (long)d : value;

    /// <summary>What <c>{{ x }}</c> writes: scalars as Go prints them; a missing value or a map is a template bug.</summary>
    private static string Print(object? value, string source) => value switch
    {
        null => throw new TemplateException($"{{{{{source}}}}} has no value (missing or null)"),
        IDictionary or IList => throw new TemplateException($"{{{{{source}}}}} is a {Describe(value)}; use toYaml"),
        _ => Text(value),
    };

    private static string Text(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>Go's %q: double quotes with backslash escapes.</summary>
    private static string GoQuote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    private static string Describe(object? value) => value switch
    {
        null => "nil",
        IDictionary => "map",
        IList => "list",
        _ => value.GetType().Name,
    };

    /// <summary>Dot, and <c>$</c> (the data the template or include was called with). Immutable.</summary>
    private sealed record Scope(object? Dot, object? Dollar);
}
