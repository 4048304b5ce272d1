namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// The real clients the integration tests drive, at fixed Debian paths. A missing tool fails the test with
/// the package to install: these tests must never skip or pass silently. Thread-safe.
/// </summary>
internal static class ExternalTools
{
    public const string KcatPath = "/usr/bin/kcat";

    /// <summary>Debian's interpreter: the python3 on PATH may be a pyenv build without Debian's packages.</summary>
    public const string PythonPath = "/usr/bin/python3";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

    // Python module -> Debian package that provides it.
    private static readonly (string Module, string Package)[] PythonModules =
    [
        ("kafka", "python3-kafka"),
        ("snappy", "python3-snappy"),
        ("lz4.frame", "python3-lz4"),
        ("zstandard", "python3-zstandard"),
    ];

    private static readonly Lazy<Task<string?>> PythonProblem = new(ProbePythonAsync);

    /// <summary>The python environment the child gets: no pyenv or virtualenv leaking in from the test runner.</summary>
    public static IReadOnlyDictionary<string, string?> PythonEnvironment { get; } = new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["PYTHONPATH"] = null,
        ["PYTHONHOME"] = null,
        ["VIRTUAL_ENV"] = null,
        ["PYTHONDONTWRITEBYTECODE"] = "1",
        ["PYTHONUNBUFFERED"] = "1",
        ["PYTHONIOENCODING"] = "utf-8",
    };

    public static string RequireKcat()
    {
        if (!File.Exists(KcatPath))
        {
            Assert.Fail($"kcat is required at {KcatPath} but was not found: install the Debian package 'kcat' (apt-get install kcat).");
        }

        return KcatPath;
    }

    /// <summary>Returns /usr/bin/python3 once it imports kafka-python and the compression modules it needs.</summary>
    public static async Task<string> RequirePythonKafkaAsync()
    {
        var problem = await PythonProblem.Value;
        if (problem is not null)
        {
            Assert.Fail(problem);
        }

        return PythonPath;
    }

    private static async Task<string?> ProbePythonAsync()
    {
        if (!File.Exists(PythonPath))
        {
            return $"{PythonPath} is required but was not found: install the Debian packages 'python3' and 'python3-kafka' " +
                "(apt-get install python3-kafka python3-snappy python3-lz4 python3-zstandard).";
        }

        var missing = new List<string>();
        foreach (var (module, package) in PythonModules)
        {
            var result = await ProcessRunner.RunAsync(PythonPath, ["-c", $"import {module}"], ProbeTimeout, environment: PythonEnvironment);
            if (result.ExitCode != 0)
            {
                missing.Add($"'{module}' (Debian package '{package}'): {result.StandardError.Trim()}");
            }
        }

        return missing.Count == 0
            ? null
            : $"{PythonPath} cannot import {string.Join("; ", missing)}. Install them with apt-get install " +
              string.Join(' ', PythonModules.Select(m => m.Package)) + ".";
    }
}
