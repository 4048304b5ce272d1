namespace Broker.Server.Tests.Startup;

/// <summary>
/// The committed data directory written by the pre-Raft single-node metadata log (Fixtures/pre-raft-single-node), for
/// tests that a node still opens it. Stateless.
/// </summary>
internal static class PreRaftDataDir
{
    /// <summary>Copies the fixture into <paramref name="root"/> (created if missing), so the test may change it.</summary>
    public static void CopyTo(string root) => CopyDirectory(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pre-raft-single-node"), root);

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}
