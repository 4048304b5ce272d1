namespace EndToEnd.Tests.Infrastructure;

/// <summary>A cluster under test that client containers wait on: polling with its diagnostics on a timeout, and a timed log. Implementations are thread-safe.</summary>
internal interface IWaitingCluster
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> and the cluster's diagnostics on a timeout.</summary>
    Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null);

    /// <summary>Writes a line to the test output, stamped with the time since the cluster started.</summary>
    void Log(string line);
}
