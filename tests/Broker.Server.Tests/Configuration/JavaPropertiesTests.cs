using Broker.Server.Configuration;

namespace Broker.Server.Tests.Configuration;

public sealed class JavaPropertiesTests
{
    private static Dictionary<string, string> Parse(string text) =>
        JavaProperties.Parse(text).ToDictionary(e => e.Key, e => e.Value);

    [Fact]
    public void Parse_SeparatorStyles_AllRecognised()
    {
        var entries = Parse("a=1\nb: 2\nc 3\nd   =   4\ne\t:\t5\nf\n");

        Assert.Equal("1", entries["a"]);
        Assert.Equal("2", entries["b"]);
        Assert.Equal("3", entries["c"]);
        Assert.Equal("4", entries["d"]);
        Assert.Equal("5", entries["e"]);
        Assert.Equal(string.Empty, entries["f"]);
    }

    [Fact]
    public void Parse_CommentsAndBlankLines_Skipped()
    {
        var entries = JavaProperties.Parse("# comment=1\n   ! also a comment\n\n   \nkey=value # not a comment\n");

        var entry = Assert.Single(entries);
        Assert.Equal("key", entry.Key);
        Assert.Equal("value # not a comment", entry.Value);
    }

    [Fact]
    public void Parse_TrailingBackslash_ContinuesLineWithoutLeadingBlanks()
    {
        var entries = Parse("listeners=PLAINTEXT://:9092,\\\n        SSL://:9093\nnext=1");

        Assert.Equal("PLAINTEXT://:9092,SSL://:9093", entries["listeners"]);
        Assert.Equal("1", entries["next"]);
    }

    [Fact]
    public void Parse_EvenBackslashesAtEnd_DoNotContinue()
    {
        var entries = Parse("path=C:\\\\dir\\\\\nother=2");

        Assert.Equal("C:\\dir\\", entries["path"]);
        Assert.Equal("2", entries["other"]);
    }

    [Fact]
    public void Parse_ContinuationOnLastLine_Ends()
    {
        Assert.Equal("abc", Parse("k=abc\\")["k"]);
    }

    [Fact]
    public void Parse_CommentCharacterInContinuation_IsPartOfValue()
    {
        Assert.Equal("a#b", Parse("k=a\\\n  #b")["k"]);
    }

    [Fact]
    public void Parse_Escapes_Decoded()
    {
        var entries = Parse("tab=a\\tb\nnl=a\\nb\nuni=caf\\u00e9\nplain=\\q\\=\\:\nkey\\ with\\=sep=v\n");

        Assert.Equal("a\tb", entries["tab"]);
        Assert.Equal("a\nb", entries["nl"]);
        Assert.Equal("café", entries["uni"]);
        Assert.Equal("q=:", entries["plain"]);
        Assert.Equal("v", entries["key with=sep"]);
    }

    [Fact]
    public void Parse_MalformedUnicodeEscape_Throws()
    {
        var e = Assert.Throws<ConfigException>(() => JavaProperties.Parse("ok=1\nbad=\\u12"));

        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CrLfAndCrLineEndings_Split()
    {
        var entries = Parse("a=1\r\nb=2\rc=3");

        Assert.Equal(["1", "2", "3"], [entries["a"], entries["b"], entries["c"]]);
    }

    [Fact]
    public void Parse_DuplicateKey_BothKeptInOrder()
    {
        var entries = JavaProperties.Parse("k=1\nk=2");

        Assert.Equal(["1", "2"], entries.Select(e => e.Value));
    }

    [Fact]
    public void Parse_TrailingBlanksOfValue_Kept()
    {
        Assert.Equal("v  ", Parse("k = v  ")["k"]);
    }
}
