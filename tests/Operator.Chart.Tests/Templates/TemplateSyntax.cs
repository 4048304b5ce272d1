namespace Operator.Chart.Tests.Templates;

/// <summary>A node of a parsed Go template. Immutable.</summary>
internal abstract record TemplateNode;

/// <summary>Literal text, already trimmed by neighbouring <c>{{-</c> / <c>-}}</c> markers. Immutable.</summary>
internal sealed record TextNode(string Text) : TemplateNode;

/// <summary><c>{{ pipeline }}</c>: the pipeline's value is written. Immutable.</summary>
internal sealed record OutputNode(Pipeline Pipeline, string Source) : TemplateNode;

/// <summary><c>{{ if }}</c> / <c>{{ else if }}</c> / <c>{{ else }}</c> / <c>{{ end }}</c>. Immutable.</summary>
internal sealed record IfNode(Pipeline Condition, IReadOnlyList<TemplateNode> Then, IReadOnlyList<TemplateNode> Else) : TemplateNode;

/// <summary><c>{{ range list }}</c>: the body once per element with dot set to it; else when the list is empty. Immutable.</summary>
internal sealed record RangeNode(Pipeline Source, IReadOnlyList<TemplateNode> Body, IReadOnlyList<TemplateNode> Else) : TemplateNode;

/// <summary><c>{{ with value }}</c>: the body with dot set to the value when it is non-empty, else the else branch. Immutable.</summary>
internal sealed record WithNode(Pipeline Value, IReadOnlyList<TemplateNode> Body, IReadOnlyList<TemplateNode> Else) : TemplateNode;

/// <summary>Commands joined by <c>|</c>: each command's result is the last argument of the next. Immutable.</summary>
internal sealed record Pipeline(IReadOnlyList<TemplateCommand> Commands);

/// <summary>A function name with its arguments, or a single operand. Immutable.</summary>
internal sealed record TemplateCommand(IReadOnlyList<Operand> Args);

/// <summary>An argument of a command. Immutable.</summary>
internal abstract record Operand;

/// <summary><c>.a.b</c> (from dot) or <c>$.a.b</c> (from the template's argument); an empty path is dot or <c>$</c> itself. Immutable.</summary>
internal sealed record FieldOperand(bool FromDollar, IReadOnlyList<string> Path) : Operand
{
    public override string ToString() => (FromDollar ? "$" : "") + (Path.Count == 0 && !FromDollar ? "." : string.Concat(Path.Select(p => "." + p)));
}

/// <summary>A string, number, boolean or nil constant. Immutable.</summary>
internal sealed record LiteralOperand(object? Value) : Operand;

/// <summary>A function name (include, default, quote ...). Immutable.</summary>
internal sealed record FunctionOperand(string Name) : Operand;

/// <summary>A parenthesised pipeline. Immutable.</summary>
internal sealed record PipelineOperand(Pipeline Pipeline) : Operand;

/// <summary>A template that does not parse or render; the message names the template and the action. Immutable.</summary>
public sealed class TemplateException : Exception
{
    public TemplateException(string message)
        : base(message)
    {
    }

    public TemplateException()
    {
    }

    public TemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
