using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// The real broker executable (<c>dotnet kafka-broker.dll start --override ...</c>) as a child process on a fixed
/// port and log dir, so tests can SIGKILL or SIGTERM it and start it again on the same data. Its stdout and
/// stderr go to the test output. Dispose kills it if it is still running. Not thread-safe.
/// </summary>
internal sealed class BrokerProcess : IAsyncDisposable
{
    private const int TailLines = 40;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();

    private BrokerProcess(Process process, int port, int advertisedPort)
    {
        _process = process;
        Port = port;
        AdvertisedPort = advertisedPort;
    }

    public int Port { get; }

    /// <summary>The port clients are told to use: <see cref="Port"/> unless advertised.listeners points elsewhere (a proxy).</summary>
    public int AdvertisedPort { get; }

    public int Pid => _process.Id;

    public string BootstrapServers => $"127.0.0.1:{Port}";

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the broker printed, for failure messages.</summary>
    public string Tail => string.Join(Environment.NewLine, _tail);

    /// <summary>A port that was free a moment ago: bound on 127.0.0.1:0, then released.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    public static BrokerProcess Start(string logDir, int port, ITestOutputHelper output, params (string Key, string Value)[] overrides)
    {
        var settings = BrokerFixture.DefaultSettings(logDir);
        settings["listeners"] = $"PLAINTEXT://127.0.0.1:{port}";
        settings["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{port}";
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var startInfo = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        startInfo.ArgumentList.Add(BrokerDll());
        startInfo.ArgumentList.Add("start");
        foreach (var (key, value) in settings)
        {
            startInfo.ArgumentList.Add("--override");
            startInfo.ArgumentList.Add($"{key}={value}");
        }

        TestOutput.TryWriteLine(output, $"$ {startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)}");
        var process = new Process { StartInfo = startInfo };
        var advertised = settings["advertised.listeners"];
        var broker = new BrokerProcess(process, port, int.Parse(advertised[(advertised.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
        process.OutputDataReceived += (_, e) => broker.OnLine(output, "out", e.Data);
        process.ErrorDataReceived += (_, e) => broker.OnLine(output, "err", e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException("The broker process did not start.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        TestOutput.TryWriteLine(output, $"broker process {process.Id} starting on {broker.BootstrapServers}, log dir {logDir}");
        return broker;
    }

    /// <summary>Polls Metadata until the broker answers with itself as a registered broker.</summary>
    public async Task WaitUntilReadyAsync(ITestOutputHelper output, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using var admin = KafkaClients.Admin(BootstrapServers, new NullOutput());
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"The broker process exited with code {_process.ExitCode} before accepting connections.{Environment.NewLine}{Tail}");
            }

            try
            {
                var metadata = admin.GetMetadata(TimeSpan.FromSeconds(1));
                if (metadata.Brokers.Any(b => b.BrokerId == 1 && b.Port == AdvertisedPort))
                {
                    TestOutput.TryWriteLine(output, $"broker process {Pid} ready after {clock.Elapsed.TotalSeconds:F1} s");
                    return;
                }
            }
            catch (KafkaException e)
            {
                last = e;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"The broker process did not answer Metadata within {timeout.TotalSeconds:F0} s ({last?.Message}).{Environment.NewLine}{Tail}");
    }

    /// <summary>Process.Kill: SIGKILL on Linux, no chance to flush or write the clean-shutdown marker.</summary>
    public async Task KillAsync(TimeSpan timeout)
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    /// <summary>Sends SIGTERM with kill(1), the way an init system or Kubernetes stops the broker.</summary>
    public async Task TerminateAsync(ITestOutputHelper output, TimeSpan timeout)
    {
        var kill = await ProcessRunner.RunAsync("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), output);
        Assert.True(kill.ExitCode == 0, $"kill -TERM {Pid} failed: {kill.Describe()}");
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The broker did not exit within {timeout.TotalSeconds:F0} s of SIGTERM.{Environment.NewLine}{Tail}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(ITestOutputHelper output, string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > TailLines && _tail.TryDequeue(out _))
        {
        }

        TestOutput.TryWriteLine(output, $"[broker {Port} {stream}] {line}");
    }

    // The muxer that runs this test host, so the child uses the same runtime; DOTNET_HOST_PATH is set by the SDK.
    private static string DotnetHost()
    {
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    /// <summary>kafka-broker.dll built in the same configuration as this test assembly.</summary>
    private static string BrokerDll()
    {
        // <repo>/tests/Broker.IntegrationTests/bin/<Configuration>/<tfm>/
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory);
        var tfm = baseDirectory.Name;
        var configuration = baseDirectory.Parent?.Name ?? "Debug";
        var dll = Path.Combine(RepositoryPaths.Root, "broker", "src", "Broker.Cli", "bin", configuration, tfm, "kafka-broker.dll");
        if (!File.Exists(dll))
        {
            Assert.Fail($"{dll} does not exist: build broker/src/Broker.Cli in {configuration} (the test project references it).");
        }

        return dll;
    }

    private sealed class NullOutput : ITestOutputHelper
    {
        public void WriteLine(string message)
        {
        }

        public void WriteLine(string format, params object[] args)
        {
        }
    }
}
