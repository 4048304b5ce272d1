using System.Net;
using System.Net.Sockets;

namespace Kube.PodRunner;

/// <summary>
/// Hands out fixed pod IPs from the top of the cluster network's IPv4 subnet, far from the addresses Docker's own IPAM
/// gives (it counts up from the bottom) to any container a test attaches to the network without one. A pod keeps its
/// address while its sandbox is reconnected with a new alias set. Thread-safe.
/// </summary>
internal sealed class IpAllocator
{
    private readonly Lock _lock = new();
    private readonly HashSet<uint> _used = [];
    private readonly uint _network;
    private readonly uint _broadcast;

    public IpAllocator(string subnet, string gateway)
    {
        var parts = subnet.Split('/');
        var prefix = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        if (prefix is < 8 or > 29)
        {
            throw new ArgumentException($"unsupported cluster network subnet {subnet}", nameof(subnet));
        }
        var mask = uint.MaxValue << (32 - prefix);
        _network = ToUInt(IPAddress.Parse(parts[0])) & mask;
        _broadcast = _network | ~mask;
        _used.Add(ToUInt(IPAddress.Parse(gateway)));
    }

    public string Allocate()
    {
        lock (_lock)
        {
            for (var candidate = _broadcast - 1; candidate > _network; candidate--)
            {
                if (_used.Add(candidate))
                {
                    return FromUInt(candidate).ToString();
                }
            }
        }
        throw new InvalidOperationException("the cluster network has no free address left");
    }

    public void Release(string ip)
    {
        lock (_lock)
        {
            _used.Remove(ToUInt(IPAddress.Parse(ip)));
        }
    }

    private static uint ToUInt(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("IPv4 only", nameof(address));
        }
        var b = address.GetAddressBytes();
        return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
    }

    private static IPAddress FromUInt(uint value) => new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
}
