using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// The real broker executable (<c>dotnet kafka-broker.dll start --override ...</c> or <c>--config ...</c>) as a child
/// process on a fixed port and log dir, so tests can SIGKILL, SIGTERM or SIGSTOP it and start it again on the same data.
/// Its stdout and stderr go to the test output or to a file. Dispose resumes a suspended process, then kills it if it is
/// still running. Not thread-safe.
/// </summary>
internal sealed class BrokerProcess : IAsyncDisposable
{
    private const int TailLines = 40;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly ITestOutputHelper? _output;
    private readonly StreamWriter? _outputFile;
    private bool _suspended;
    private bool _outputClosed;

    private BrokerProcess(Process process, int port, int advertisedPort, ITestOutputHelper? output, StreamWriter? outputFile)
    {
        _process = process;
        Port = port;
        AdvertisedPort = advertisedPort;
        _output = output;
        _outputFile = outputFile;
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
    public static int FreePort() => FreePorts(1)[0];

    /// <summary>
    /// <paramref name="count"/> distinct ports that were free a moment ago: held open together, then released. Another
    /// process could bind one before the broker does, but with ephemeral ports on loopback that is unlikely.
    /// </summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
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

        var arguments = new List<string> { "start" };
        foreach (var (key, value) in settings)
        {
            arguments.Add("--override");
            arguments.Add($"{key}={value}");
        }

        var advertised = settings["advertised.listeners"];
        return Launch(arguments, port, int.Parse(advertised[(advertised.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture), $"log dir {logDir}", output, null);
    }

    /// <summary>
    /// Starts <c>kafka-broker.dll start --config <paramref name="configFile"/></c> whose client listener is on
    /// <paramref name="port"/>; every line it prints is appended to <paramref name="outputFile"/> instead of the test output.
    /// </summary>
    public static BrokerProcess StartWithConfig(string configFile, int port, string outputFile, ITestOutputHelper output) =>
        Launch(["start", "--config", configFile], port, port, $"config {configFile}", output, new StreamWriter(outputFile, append: true) { AutoFlush = true });

    private static BrokerProcess Launch(List<string> arguments, int port, int advertisedPort, string dataDescription, ITestOutputHelper output, StreamWriter? outputFile)
    {
        var startInfo = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        startInfo.ArgumentList.Add(BrokerDll());
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        TestOutput.TryWriteLine(output, $"$ {startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)}");
        var process = new Process { StartInfo = startInfo };
        var broker = new BrokerProcess(process, port, advertisedPort, outputFile is null ? output : null, outputFile);
        process.OutputDataReceived += (_, e) => broker.OnLine("out", e.Data);
        process.ErrorDataReceived += (_, e) => broker.OnLine("err", e.Data);
        if (!process.Start())
        {
            outputFile?.Dispose();
            throw new InvalidOperationException("The broker process did not start.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        StartReaper(process.Id);
        TestOutput.TryWriteLine(output, $"broker process {process.Id} starting on {broker.BootstrapServers}, {dataDescription}");
        return broker;
    }

    /// <summary>
    /// A shell loop that SIGKILLs the broker once this test host is gone: Dispose never runs when the host itself dies
    /// (a native client library abort, a killed test run), and an orphaned broker would keep its ports and CPU. It ends
    /// by itself within a second of the broker exiting.
    /// </summary>
    private static void StartReaper(int brokerPid)
    {
        var host = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var broker = brokerPid.ToString(CultureInfo.InvariantCulture);
        var startInfo = new ProcessStartInfo("sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add($"while kill -0 {host} 2>/dev/null && kill -0 {broker} 2>/dev/null; do sleep 1; done; kill -9 {broker} 2>/dev/null; true");
        using var reaper = Process.Start(startInfo);
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
        await SignalAsync("TERM", output);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The broker did not exit within {timeout.TotalSeconds:F0} s of SIGTERM.{Environment.NewLine}{Tail}");
        }
    }

    /// <summary>SIGSTOP: the process freezes with its sockets open, as in a long GC pause or a stalled VM.</summary>
    public async Task SuspendAsync(ITestOutputHelper output)
    {
        await SignalAsync("STOP", output);
        _suspended = true;
    }

    /// <summary>SIGCONT after <see cref="SuspendAsync"/>.</summary>
    public async Task ResumeAsync(ITestOutputHelper output)
    {
        await SignalAsync("CONT", output);
        _suspended = false;
    }

    private async Task SignalAsync(string signal, ITestOutputHelper? output)
    {
        var kill = await ProcessRunner.RunAsync("kill", [$"-{signal}", Pid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), output);
        Assert.True(kill.ExitCode == 0, $"kill -{signal} {Pid} failed: {kill.Describe()}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_suspended && !_process.HasExited)
            {
                // SIGKILL ends a stopped process too, but a resumed one exits the ordinary way and leaves no stopped child behind.
                await SignalAsync("CONT", null);
            }

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
            if (_outputFile is not null)
            {
                lock (_outputFile)
                {
                    _outputClosed = true;
                    _outputFile.Dispose();
                }
            }
        }
    }

    private void OnLine(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > TailLines && _tail.TryDequeue(out _))
        {
        }

        if (_outputFile is not null)
        {
            lock (_outputFile)
            {
                // Lines racing the dispose are dropped: the process is already being killed.
                if (!_outputClosed)
                {
                    _outputFile.WriteLine(line);
                }
            }

            return;
        }

        TestOutput.TryWriteLine(_output, $"[broker {Port} {stream}] {line}");
    }

    // The muxer that runs this test host, so the child uses the same runtime; DOTNET_HOST_PATH is set by the SDK.
    internal static string DotnetHost()
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
    internal static string BrokerDll()
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
