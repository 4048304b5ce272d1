using System.Net;
using System.Net.Sockets;

namespace EndToEnd.Tests.Infrastructure;

/// <summary>Host ports for what a container publishes or serves on 127.0.0.1. Thread-safe (no state).</summary>
internal static class LoopbackPorts
{
    /// <summary>
    /// A port free on 127.0.0.1 right now, for settings that must name the port before the container starts (an
    /// advertised listener, a health port under host networking); another process could take it in between, which
    /// the ephemeral range makes unlikely.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
