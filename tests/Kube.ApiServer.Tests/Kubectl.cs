using System.Diagnostics;
using Kube.ApiServer;

namespace Kube.ApiServer.Tests;

/// <summary>
/// Runs the real kubectl binary against a fixture through a temporary kubeconfig and discovery cache.
/// A missing kubectl fails the test. Not thread-safe: one per test.
/// </summary>
internal sealed class Kubectl : IDisposable
{
    private readonly string _dir;
    private readonly string _kubeconfig;

    public Kubectl(KubeApiServer server)
    {
        _dir = Path.Combine(Path.GetTempPath(), "kube-fixture-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _kubeconfig = Path.Combine(_dir, "config");
        server.WriteKubeconfig(_kubeconfig);
    }

    public string Directory_ => _dir;

    public static string Binary
    {
        get
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            {
                var candidate = Path.Combine(dir, "kubectl");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
            throw new InvalidOperationException("kubectl was not found on PATH: these tests need the real kubectl 1.32 binary (install it; they never skip).");
        }
    }

    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Runs kubectl to completion (30 s at most) and returns exit code, stdout and stderr.</summary>
    public async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var process = Start(args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs kubectl and fails the test unless it exits 0; returns stdout.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout;
    }

    public Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(_kubeconfig);
        psi.ArgumentList.Add("--cache-dir");
        psi.ArgumentList.Add(Path.Combine(_dir, "cache"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["HOME"] = _dir;
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start kubectl");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }
}
