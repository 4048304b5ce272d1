using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Kube.PodRunner;

/// <summary>Creates the user-defined bridge network that plays the cluster network. Stateless. Thread-safe.</summary>
internal static class ClusterNetwork
{
    // Docker only takes a fixed container address on a network whose subnet was given at creation, so the runner picks
    // a /24 that no existing network overlaps (Docker's own pools then avoid it) and moves on if another runner won the race.
    public static async Task<(string Subnet, string Gateway)> CreateAsync(IDockerClient docker, string name, IReadOnlyDictionary<string, string> labels, string? fixedSubnet, CancellationToken ct)
    {
        var start = Random.Shared.Next(0, 12 * 256);
        for (var attempt = 0; attempt < 12 * 256; attempt++)
        {
            var n = (start + attempt) % (12 * 256);
            var subnet = $"172.{20 + (n / 256)}.{n % 256}.0/24";
            if (fixedSubnet is not null)
            {
                subnet = fixedSubnet;
            }
            var taken = await docker.Networks.ListNetworksAsync(new NetworksListParameters(), ct);
            if (fixedSubnet is null && taken.Any(net => net.IPAM?.Config?.Any(c => Overlaps(c.Subnet, subnet)) == true))
            {
                continue;
            }
            var prefix = subnet[..subnet.LastIndexOf('.')];
            try
            {
                await docker.Networks.CreateNetworkAsync(new NetworksCreateParameters
                {
                    Name = name,
                    Driver = "bridge",
                    Labels = new Dictionary<string, string>(labels),
                    IPAM = new IPAM { Config = [new IPAMConfig { Subnet = subnet, Gateway = prefix + ".1" }] },
                }, ct);
            }
            catch (DockerApiException e) when (fixedSubnet is null && (e.ResponseBody ?? e.Message).Contains("overlap", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            return (subnet, prefix + ".1");
        }
        throw new InvalidOperationException("no free /24 for the cluster network in 172.20.0.0/14");
    }

    private static bool Overlaps(string? a, string b)
    {
        if (a is null || !a.Contains('/', StringComparison.Ordinal) || !IPAddress.TryParse(a.Split('/')[0], out var ipA) || ipA.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return false;
        }
        static (uint Net, uint Mask) Parse(string cidr)
        {
            var parts = cidr.Split('/');
            var bytes = IPAddress.Parse(parts[0]).GetAddressBytes();
            var prefix = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            var mask = prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);
            return ((((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3]) & mask, mask);
        }
        var (netA, maskA) = Parse(a);
        var (netB, maskB) = Parse(b);
        var common = maskA & maskB;
        return (netA & common) == (netB & common);
    }
}
