using System.Globalization;
using System.Text;

namespace Operator.Chart.Tests.Templates;

/// <summary>
/// Parses the subset of Go's text/template the chart uses: <c>{{ }}</c> actions with <c>{{-</c> / <c>-}}</c> trim
/// markers, <c>/* */</c> comments, if / else if / else, range, with, define, pipelines of functions and fields, string,
/// number and boolean literals, parentheses. Anything else (variables other than <c>$</c>, <c>template</c>, <c>block</c>,
/// range over maps) is refused rather than guessed at. Stateless; thread-safe.
/// </summary>
internal static class TemplateParser
{
    /// <summary>The file's top-level nodes; its <c>define</c>s go into <paramref name="defines"/>.</summary>
    public static IReadOnlyList<TemplateNode> Parse(string name, string text, IDictionary<string, IReadOnlyList<TemplateNode>> defines)
    {
        var cursor = new Cursor(name, Split(name, text));
        var nodes = ParseList(cursor, defines, out var stop);
        if (stop is not null)
        {
            throw new TemplateException($"{name}: unexpected {{{{{stop.Keyword}}}}}");
        }

        return nodes;
    }

    /// <summary>Text and action segments, with trim markers applied to the neighbouring text and comments dropped.</summary>
    private static List<(bool IsAction, string Text)> Split(string name, string text)
    {
        var segments = new List<(bool, string)>();
        var pos = 0;
        var trimNext = false;
        while (pos <= text.Length)
        {
            var open = text.IndexOf("{{", pos, StringComparison.Ordinal);
            var literal = open < 0 ? text[pos..] : text[pos..open];
            if (trimNext)
            {
                literal = literal.TrimStart(' ', '\t', '\r', '\n');
            }

            if (open < 0)
            {
                segments.Add((false, literal));
                break;
            }

            var start = open + 2;
            if (start + 1 < text.Length && text[start] == '-' && IsSpace(text[start + 1]))
            {
                literal = literal.TrimEnd(' ', '\t', '\r', '\n');
                start++;
            }

            segments.Add((false, literal));
            var close = text.IndexOf("}}", start, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new TemplateException($"{name}: unclosed action at offset {open}");
            }

            var end = close;
            trimNext = close - 2 >= start && text[close - 1] == '-' && IsSpace(text[close - 2]);
            if (trimNext)
            {
                end--;
            }

            var action = text[start..end].Trim();
            if (!(action.StartsWith("/*", StringComparison.Ordinal) && action.EndsWith("*/", StringComparison.Ordinal)))
            {
                segments.Add((true, action));
            }

            pos = close + 2;
        }

        return segments;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static List<TemplateNode> ParseList(Cursor cursor, IDictionary<string, IReadOnlyList<TemplateNode>> defines, out Stop? stop)
    {
        var nodes = new List<TemplateNode>();
        while (cursor.TryNext(out var isAction, out var text))
        {
            if (!isAction)
            {
                if (text.Length > 0)
                {
                    nodes.Add(new TextNode(text));
                }

                continue;
            }

            var (keyword, rest) = SplitKeyword(text);
            switch (keyword)
            {
                case "end" or "else":
                    stop = new Stop(keyword, rest);
                    return nodes;
                case "if":
                    nodes.Add(ParseIf(cursor, defines, rest));
                    break;
                case "range" or "with":
                {
                    var source = ParsePipeline(cursor.Name, rest);
                    var body = ParseList(cursor, defines, out var bodyStop);
                    IReadOnlyList<TemplateNode> otherwise = [];
                    if (bodyStop is { Keyword: "else", Rest: "" })
                    {
                        otherwise = ParseList(cursor, defines, out bodyStop);
                    }

                    Expect(cursor.Name, bodyStop, keyword);
                    nodes.Add(keyword == "range" ? new RangeNode(source, body, otherwise) : new WithNode(source, body, otherwise));
                    break;
                }

                case "define":
                {
                    var defineName = ParsePipeline(cursor.Name, rest).Commands is [{ Args: [LiteralOperand { Value: string n }] }]
                        ? n : throw new TemplateException($"{cursor.Name}: define needs a quoted name: {{{{{text}}}}}");
                    var body = ParseList(cursor, defines, out var bodyStop);
                    Expect(cursor.Name, bodyStop, "define");
                    defines[defineName] = body;
                    break;
                }

                case "template" or "block" or "break" or "continue":
                    throw new TemplateException($"{cursor.Name}: {{{{{keyword}}}}} is outside the supported subset (use include)");
                default:
                    nodes.Add(new OutputNode(ParsePipeline(cursor.Name, text), text));
                    break;
            }
        }

        stop = null;
        return nodes;
    }

    /// <summary>An if whose condition is parsed; <c>else if</c> nests another if that shares the one <c>end</c>.</summary>
    private static IfNode ParseIf(Cursor cursor, IDictionary<string, IReadOnlyList<TemplateNode>> defines, string condition)
    {
        var pipeline = ParsePipeline(cursor.Name, condition);
        var then = ParseList(cursor, defines, out var stop);
        if (stop is { Keyword: "else" })
        {
            var (keyword, rest) = SplitKeyword(stop.Rest);
            if (keyword == "if")
            {
                return new IfNode(pipeline, then, [ParseIf(cursor, defines, rest)]);
            }

            if (stop.Rest.Length > 0)
            {
                throw new TemplateException($"{cursor.Name}: unsupported {{{{else {stop.Rest}}}}}");
            }

            var otherwise = ParseList(cursor, defines, out stop);
            Expect(cursor.Name, stop, "if");
            return new IfNode(pipeline, then, otherwise);
        }

        Expect(cursor.Name, stop, "if");
        return new IfNode(pipeline, then, []);
    }

    private static void Expect(string name, Stop? stop, string opened)
    {
        if (stop is not { Keyword: "end", Rest: "" })
        {
            throw new TemplateException($"{name}: {{{{{opened}}}}} not closed by {{{{end}}}} (found {(stop is null ? "end of file" : "{{" + stop.Keyword + "}}")})");
        }
    }

    private static (string Keyword, string Remainder) SplitKeyword(string action)
    {
        var i = 0;
        while (i < action.Length && char.IsAsciiLetter(action[i]))
        {
            i++;
        }

        return i < action.Length && !IsSpace(action[i]) ? ("", action) : (action[..i], action[i..].Trim());
    }

    /// <summary>Parses <paramref name="text"/> as one pipeline.</summary>
    public static Pipeline ParsePipeline(string name, string text)
    {
        var tokens = Tokenize(name, text);
        var index = 0;
        var pipeline = ParsePipeline(name, text, tokens, ref index);
        if (index != tokens.Count)
        {
            throw new TemplateException($"{name}: unexpected '{tokens[index].Text}' in {{{{{text}}}}}");
        }

        return pipeline;
    }

    private static Pipeline ParsePipeline(string name, string text, List<Token> tokens, ref int index)
    {
        var commands = new List<TemplateCommand>();
        var args = new List<Operand>();
        while (index < tokens.Count && tokens[index].Kind != TokenKind.RightParen)
        {
            var token = tokens[index++];
            switch (token.Kind)
            {
                case TokenKind.Pipe:
                    commands.Add(args.Count > 0 ? new TemplateCommand(args) : throw new TemplateException($"{name}: empty command in {{{{{text}}}}}"));
                    args = [];
                    break;
                case TokenKind.LeftParen:
                    args.Add(new PipelineOperand(ParsePipeline(name, text, tokens, ref index)));
                    if (index >= tokens.Count || tokens[index++].Kind != TokenKind.RightParen)
                    {
                        throw new TemplateException($"{name}: unclosed '(' in {{{{{text}}}}}");
                    }

                    break;
                case TokenKind.String:
                    args.Add(new LiteralOperand(token.Text));
                    break;
                case TokenKind.Number:
                    args.Add(new LiteralOperand(long.TryParse(token.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                        ? (object)l : double.Parse(token.Text, CultureInfo.InvariantCulture)));
                    break;
                case TokenKind.Field:
                    args.Add(new FieldOperand(token.Text.StartsWith('$'), token.Text.TrimStart('$').Split('.', StringSplitOptions.RemoveEmptyEntries)));
                    break;
                case TokenKind.Identifier:
                    args.Add(token.Text switch
                    {
                        "true" => new LiteralOperand(true),
                        "false" => new LiteralOperand(false),
                        "nil" => new LiteralOperand(null),
                        _ => new FunctionOperand(token.Text),
                    });
                    break;
                default:
                    throw new TemplateException($"{name}: unexpected '{token.Text}' in {{{{{text}}}}}");
            }
        }

        if (args.Count == 0)
        {
            throw new TemplateException($"{name}: missing value in {{{{{text}}}}}");
        }

        commands.Add(new TemplateCommand(args));
        return new Pipeline(commands);
    }

    private static List<Token> Tokenize(string name, string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (IsSpace(c))
            {
                i++;
            }
            else if (c is '(' or ')' or '|')
            {
                tokens.Add(new Token(c == '(' ? TokenKind.LeftParen : c == ')' ? TokenKind.RightParen : TokenKind.Pipe, c.ToString()));
                i++;
            }
            else if (c == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                        sb.Append(text[i] switch { 'n' => '\n', 't' => '\t', _ => text[i] });
                    }
                    else
                    {
                        sb.Append(text[i]);
                    }

                    i++;
                }

                if (i >= text.Length)
                {
                    throw new TemplateException($"{name}: unterminated string in {{{{{text}}}}}");
                }

                i++;
                tokens.Add(new Token(TokenKind.String, sb.ToString()));
            }
            else if (c is '.' or '$')
            {
                var start = i++;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '.'))
                {
                    i++;
                }

                if (c == '$' && i - start > 1 && text[start + 1] != '.')
                {
                    throw new TemplateException($"{name}: variables other than $ are outside the supported subset: {{{{{text}}}}}");
                }

                tokens.Add(new Token(TokenKind.Field, text[start..i]));
            }
            else if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, text[start..i]));
            }
            else if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, text[start..i]));
            }
            else
            {
                throw new TemplateException($"{name}: unexpected character '{c}' in {{{{{text}}}}}");
            }
        }

        return tokens;
    }

    private enum TokenKind
    {
        Identifier,
        Field,
        String,
        Number,
        LeftParen,
        RightParen,
        Pipe,
    }

    /// <summary>One lexeme of an action. Immutable.</summary>
    private sealed record Token(TokenKind Kind, string Text);

    /// <summary>The <c>end</c> or <c>else</c> action that ended a list, with what follows the keyword. Immutable.</summary>
    private sealed record Stop(string Keyword, string Rest);

    /// <summary>Walks the segments of one file. Owned by one parse.</summary>
    private sealed class Cursor(string name, List<(bool IsAction, string Text)> segments)
    {
        private int _index;

        public string Name { get; } = name;

        public bool TryNext(out bool isAction, out string text)
        {
            if (_index >= segments.Count)
            {
                (isAction, text) = (false, "");
                return false;
            }

            (isAction, text) = segments[_index++];
            return true;
        }
    }
}
