using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// Routes broker logs into the test's output so a failing test shows what the broker did. Writes after the
/// test has finished are dropped (xunit rejects them). Thread-safe.
/// </summary>
internal sealed class TestOutputLoggerFactory : ILoggerFactory
{
    private readonly ITestOutputHelper _output;
    private readonly LogLevel _minimum;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<string> _errors = new();

    public TestOutputLoggerFactory(ITestOutputHelper output, LogLevel minimum = LogLevel.Information)
    {
        _output = output;
        _minimum = minimum;
    }

    /// <summary>Every entry at Error level or above, so tests can assert the broker logged no failure.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("This factory writes only to the test output.");

    public void Dispose()
    {
    }

    internal void Write(string line) => TestOutput.TryWriteLine(_output, $"[{_clock.Elapsed.TotalSeconds,8:F3}] {line}");

    private sealed class Logger(TestOutputLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= factory._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var error = logLevel is LogLevel.Error or LogLevel.Critical;
            if (!IsEnabled(logLevel) && !error)
            {
                return;
            }

            var text = $"{logLevel,-11} {category}: {formatter(state, exception)}";
            if (error)
            {
                factory._errors.Enqueue(exception is null ? text : $"{text} {exception.GetType().Name}: {exception.Message}");
            }

            factory.Write(exception is null ? text : $"{text}{Environment.NewLine}{exception}");
        }
    }
}

/// <summary>Writes to an <see cref="ITestOutputHelper"/> that may already be closed. Thread-safe.</summary>
internal static class TestOutput
{
    public static void TryWriteLine(ITestOutputHelper? output, string line)
    {
        if (output is null)
        {
            return;
        }

        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test already finished; late output from a background thread is not worth failing for.
        }
    }
}
