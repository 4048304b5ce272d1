namespace Broker.IntegrationTests.Infrastructure;

/// <summary>Locates the checkout the tests run from (the directory holding Operator.sln). Thread-safe.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The repository root; fails the test loudly when the assembly does not run from a checkout.</summary>
    public static string Root => RootPath.Value;

    private static string FindRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Operator.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            Assert.Fail($"Operator.sln not found above {AppContext.BaseDirectory}: the tests must run from a checkout.");
        }

        return root.FullName;
    }
}
