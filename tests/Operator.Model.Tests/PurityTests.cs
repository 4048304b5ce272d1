using System.Text.RegularExpressions;

namespace Operator.Model.Tests;

/// <summary>Rule 8: Operator.Model is pure. A source scan for the ways I/O, time or randomness would creep in.</summary>
public sealed class PurityTests
{
    [Theory]
    [InlineData("IKubernetes")]
    [InlineData("HttpClient")]
    [InlineData("File.")]
    [InlineData("Directory.")]
    [InlineData("DateTime")]
    [InlineData("TimeProvider")]
    [InlineData("Stopwatch")]
    [InlineData("Random")]
    [InlineData("Guid.NewGuid")]
    [InlineData("Environment.")]
    [InlineData("Task")]
    public void ModelSources_DoNotUse(string token)
    {
        var sources = Directory.GetFiles(Path.Combine(Repo.Root, "operator", "src", "Operator.Model"), "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        Assert.NotEmpty(sources);
        var pattern = @"\b" + Regex.Escape(token) + (token.EndsWith('.') ? string.Empty : @"\b");
        Assert.All(sources, path => Assert.False(Regex.IsMatch(File.ReadAllText(path), pattern), $"{Path.GetFileName(path)} uses {token}"));
    }
}
