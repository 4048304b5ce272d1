using System.Security.Cryptography;

namespace Operator.Certificates;

/// <summary>
/// Produces the password of a PKCS#12 store (<c>ca.password</c>, <c>&lt;pod&gt;.password</c>).
/// Injected so tests control randomness; implementations must be safe to call from any thread.
/// </summary>
public delegate string PasswordGenerator();

/// <summary>Key sizes and the random source used for serial numbers and passwords. Immutable; thread-safe.</summary>
/// <remarks>
/// RSA rather than ECDSA P-256: Strimzi generates RSA keys, and Kafka clients and brokers of every era
/// (and Java truststores with old defaults) accept RSA, so certificates stay interchangeable with Strimzi's.
/// 4096 bits for both the CAs and the leaf keys is the default. Tests pass smaller sizes through this
/// option only, because RSA 4096 generation takes seconds on a small machine.
/// Key material itself always comes from the OS CSPRNG (RSA.Create); <see cref="Random"/> drives serial
/// numbers and passwords.
/// </remarks>
public sealed record CertificateOptions
{
    public int CaKeySize { get; init; } = 4096;

    public int LeafKeySize { get; init; } = 4096;

    /// <summary>The cluster DNS domain of Service names (Strimzi's KUBERNETES_SERVICE_DNS_DOMAIN).</summary>
    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>Source of serial numbers. Defaults to the shared CSPRNG, which is thread-safe.</summary>
    public RandomNumberGenerator Random { get; init; } = RandomNumberGenerator.Create();

    /// <summary>PKCS#12 passwords; defaults to 32 alphanumeric characters drawn from <see cref="Random"/>.</summary>
    public PasswordGenerator? Passwords { get; init; }

    internal string NewPassword() => Passwords is { } generator ? generator() : Password.Generate(Random, 32);

    internal byte[] NewSerial()
    {
        var serial = new byte[16];
        Random.GetBytes(serial);
        serial[0] &= 0x7F; // a positive INTEGER (RFC 5280 4.1.2.2)
        serial[0] |= 0x01; // and never a leading zero byte, so the encoding keeps 16 bytes
        return serial;
    }
}

/// <summary>Random alphanumeric passwords. Stateless; thread-safe when the generator is.</summary>
public static class Password
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string Generate(RandomNumberGenerator random, int length)
    {
        ArgumentNullException.ThrowIfNull(random);
        var chars = new char[length];
        Span<byte> one = stackalloc byte[1];
        for (var i = 0; i < length;)
        {
            random.GetBytes(one);
            // Rejection sampling keeps the distribution uniform: 248 is the largest multiple of 62 below 256.
            if (one[0] < 248)
            {
                chars[i++] = Alphabet[one[0] % Alphabet.Length];
            }
        }

        return new string(chars);
    }
}
