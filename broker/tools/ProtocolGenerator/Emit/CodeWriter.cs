using System.Text;

namespace ProtocolGenerator.Emit;

/// <summary>Indenting line writer producing '\n' newlines regardless of platform. Owned by one emitter.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;
    private bool _closedBlock;

    public void Line(string text)
    {
        // A blank line separates a closed block from the statement after it (but not from "else", "}" or a case label).
        if (_closedBlock && text.Length > 0 && !text.StartsWith('}') && !text.StartsWith("else", StringComparison.Ordinal)
            && !text.StartsWith("case ", StringComparison.Ordinal) && !text.StartsWith("default:", StringComparison.Ordinal)
            && !text.StartsWith(']') && !text.StartsWith(')'))
        {
            _text.Append('\n');
        }

        _closedBlock = false;
        if (text.Length > 0)
        {
            _text.Append(' ', _indent * 4);
        }

        _text.Append(text).Append('\n');
    }

    public void Blank()
    {
        _closedBlock = false;
        _text.Append('\n');
    }

    /// <summary>Writes <paramref name="header"/> (if any) and an opening brace, then indents.</summary>
    public void Open(string? header = null)
    {
        if (header is not null)
        {
            Line(header);
        }

        Line("{");
        _indent++;
    }

    public void Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
        _closedBlock = suffix.Length == 0;
    }

    /// <summary>Emits "if (cond) { then } else { otherwise }", folding the constant conditions "true" and "false".</summary>
    public void If(string condition, Action then, Action? otherwise = null)
    {
        if (condition == "true")
        {
            then();
            return;
        }

        if (condition == "false")
        {
            otherwise?.Invoke();
            return;
        }

        Open($"if ({condition})");
        then();
        Close();
        if (otherwise is not null)
        {
            Open("else");
            otherwise();
            Close();
        }
    }

    public override string ToString() => _text.ToString();
}
