using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Operator.Certificates;

namespace Operator.Certificates.Tests;

/// <summary>
/// Generates one cluster CA and one clients CA per test class: RSA generation dominates the suite's time, so keys are
/// 2048 bits here (production defaults to 4096 through <see cref="CertificateOptions"/>). Read-only after construction.
/// </summary>
public sealed class CaFixture : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public CaFixture()
    {
        Options = TestOptions(RandomNumberGenerator.Create());
        ClusterCa = CertificateAuthority.Create(CaKind.Cluster, 365, new FakeTimeProvider(Start), Options);
        ClientsCa = CertificateAuthority.Create(CaKind.Clients, 365, new FakeTimeProvider(Start), Options);
    }

    public CertificateOptions Options { get; }

    public CertificateAuthority ClusterCa { get; }

    public CertificateAuthority ClientsCa { get; }

    public static CertificateOptions TestOptions(RandomNumberGenerator random) =>
        new() { CaKeySize = 2048, LeafKeySize = 2048, Random = random };

    public void Dispose()
    {
        ClusterCa.Dispose();
        ClientsCa.Dispose();
    }
}

/// <summary>A deterministic byte source (seeded System.Random) standing in for the CSPRNG. Not thread-safe; one per test.</summary>
public sealed class SeededRandom(int seed) : RandomNumberGenerator
{
    private readonly Random _random = new(seed);

    public override void GetBytes(byte[] data) => _random.NextBytes(data);

    public override void GetBytes(Span<byte> data) => _random.NextBytes(data);
}
