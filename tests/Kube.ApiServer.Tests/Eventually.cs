namespace Kube.ApiServer.Tests;

/// <summary>Bounded polling for state that controllers reach asynchronously. Stateless.</summary>
internal static class Eventually
{
    public static async Task<T> GetAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail($"timed out after {timeoutMs} ms waiting for {what}");
            }
            await Task.Delay(20);
        }
    }
}
