using Operator.Chart.Tests.Templates;

namespace Operator.Chart.Tests;

/// <summary>The Go-template subset the chart is rendered with, against what text/template and Helm's functions do.</summary>
public sealed class TemplateEngineTests
{
    private static string Render(string template, string values = "", string? helpers = null)
    {
        var defines = new Dictionary<string, IReadOnlyList<TemplateNode>>(StringComparer.Ordinal);
        if (helpers is not null)
        {
            TemplateParser.Parse("_helpers.tpl", helpers, defines);
        }

        var nodes = TemplateParser.Parse("t.yaml", template, defines);
        var data = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Values"] = YamlValues.LoadMap(values),
            ["Release"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["Namespace"] = "ns" },
        };
        return new TemplateRenderer(defines).Render("t.yaml", nodes, data);
    }

    [Fact]
    public void Render_TrimMarkers_RemoveWhitespaceAndNewlinesOnTheirSide()
    {
        Assert.Equal("a:b\n", Render("a:  \n  {{- \"b\" }}\n"));
        Assert.Equal("a: b  c", Render("a: {{ \"b\" -}}  \n\n  {{- \"\" }}  c"));
        Assert.Equal("x", Render("{{- /* a comment */ -}}\n\nx"));
    }

    [Fact]
    public void Render_IfElseIfElse_TakesTheFirstTrueBranch()
    {
        const string template = "{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}";

        Assert.Equal("A", Render(template, "a: true\nb: true"));
        Assert.Equal("B", Render(template, "a: false\nb: [x]"));
        Assert.Equal("C", Render(template, "a: 0\nb: []"));
        Assert.Equal("C", Render(template, "a: \"\"\nb: {}"));
    }

    [Fact]
    public void Render_RangeAndDollar_IteratesWithDotAsTheElement()
    {
        var output = Render("{{ range .Values.list }}{{ if ne . $.Release.Namespace }}{{ . }},{{ end }}{{ else }}none{{ end }}", "list: [a, ns, b]");

        Assert.Equal("a,b,", output);
        Assert.Equal("none", Render("{{ range .Values.list }}x{{ else }}none{{ end }}", "list: []"));
    }

    [Fact]
    public void Render_With_SetsDotOnlyWhenNonEmpty()
    {
        Assert.Equal("v/", Render("{{ with .Values.r }}{{ . }}/{{ end }}", "r: v"));
        Assert.Equal("", Render("{{ with .Values.r }}{{ . }}/{{ end }}", "r: \"\""));
        Assert.Equal("else", Render("{{ with .Values.missing }}x{{ else }}else{{ end }}"));
    }

    [Fact]
    public void Render_IncludeWithDict_PassesBothValuesToTheHelper()
    {
        const string helpers = "{{- define \"img\" -}}{{ .image.name }}:{{ default .tag .image.tag }}{{- end -}}";

        Assert.Equal("op:1.0", Render("{{ include \"img\" (dict \"image\" .Values.image \"tag\" \"1.0\") }}", "image: {name: op, tag: \"\"}", helpers));
        Assert.Equal("op:2", Render("{{ include \"img\" (dict \"image\" .Values.image \"tag\" \"1.0\") }}", "image: {name: op, tag: \"2\"}", helpers));
    }

    [Fact]
    public void Render_QuoteAndPipes_QuoteAsGoPercentQ()
    {
        Assert.Equal("\"true\" \"a\\\"b\" \"3\"", Render("{{ .Values.b | quote }} {{ quote .Values.s }} {{ .Values.n | quote }}", "b: true\ns: 'a\"b'\nn: 3"));
    }

    [Fact]
    public void Render_ToYamlNindent_WritesSortedBlockYamlIndented()
    {
        const string values = "r:\n  limits: {memory: 384Mi, cpu: 1000m}\n  list: [{name: a, x: '1'}, b]\n  flag: 'true'\n  empty: {}";

        var output = Render("resources:\n  {{- toYaml .Values.r | nindent 2 }}\n", values);

        Assert.Equal(
            "resources:\n  empty: {}\n  flag: \"true\"\n  limits:\n    cpu: 1000m\n    memory: 384Mi\n  list:\n  - name: a\n    x: \"1\"\n  - b\n",
            output);
    }

    [Fact]
    public void Render_MissingValueWritten_FailsNamingTheAction()
    {
        var e = Assert.Throws<TemplateException>(() => Render("image: {{ .Values.imagee.name }}", "image: {name: x}"));

        Assert.Contains(".Values.imagee.name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnclosedIfOrUnsupportedAction_Fails()
    {
        Assert.Throws<TemplateException>(() => Render("{{ if .Values.a }}x"));
        Assert.Throws<TemplateException>(() => Render("{{ template \"x\" . }}"));
        Assert.Throws<TemplateException>(() => Render("{{ $x := 1 }}"));
        Assert.Throws<TemplateException>(() => Render("{{ lookup \"v1\" \"Secret\" \"\" \"\" }}"));
    }
}
