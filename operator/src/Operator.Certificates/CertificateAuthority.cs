using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Operator.Certificates;

/// <summary>Which of a cluster's two CAs (Strimzi: cluster CA signs node and component certs, clients CA signs users).</summary>
public enum CaKind
{
    Cluster,
    Clients,
}

/// <summary>
/// A self-signed CA: certificate, private key and generations (Strimzi's <c>InternalCa</c>), plus the
/// certificates of replaced keys that stay trusted until every pod uses the new key. Immutable;
/// thread-safe. Disposing releases the key; derived instances own their own keyed certificate.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    internal const string Organization = "io.strimzi";

    private CertificateAuthority(CaKind kind, X509Certificate2 certificate, int certGeneration, int keyGeneration,
        ImmutableArray<X509Certificate2> previous)
    {
        Kind = kind;
        Certificate = certificate;
        CertGeneration = certGeneration;
        KeyGeneration = keyGeneration;
        PreviousCertificates = previous;
    }

    public CaKind Kind { get; }

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary><c>strimzi.io/ca-cert-generation</c>: bumped by every new CA certificate.</summary>
    public int CertGeneration { get; }

    /// <summary><c>strimzi.io/ca-key-generation</c>: bumped by every new CA key.</summary>
    public int KeyGeneration { get; }

    /// <summary>Certificates of replaced keys, kept in the cert Secret as <c>ca-&lt;notAfter&gt;.crt</c>.</summary>
    public ImmutableArray<X509Certificate2> PreviousCertificates { get; }

    public DateTimeOffset NotBefore => new(Certificate.NotBefore.ToUniversalTime());

    public DateTimeOffset NotAfter => new(Certificate.NotAfter.ToUniversalTime());

    /// <summary>Strimzi's CA common name: <c>cluster-ca v&lt;keyGeneration&gt;</c> or <c>clients-ca v&lt;n&gt;</c>.</summary>
    public static string CommonName(CaKind kind, int keyGeneration) =>
        (kind == CaKind.Cluster ? "cluster-ca v" : "clients-ca v") + keyGeneration.ToString(CultureInfo.InvariantCulture);

    /// <summary>A new CA with a new key, valid from now for <paramref name="validityDays"/>; both generations 0.</summary>
    public static CertificateAuthority Create(CaKind kind, int validityDays, TimeProvider time, CertificateOptions options) =>
        Create(kind, certGeneration: 0, keyGeneration: 0, validityDays, time, options, []);

    /// <summary>The same key with a new certificate (Strimzi's renew-certificate): cert generation + 1.</summary>
    public CertificateAuthority RenewCertificate(int validityDays, TimeProvider time, CertificateOptions options)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        using var key = Certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("the CA has no RSA private key");
        var certificate = SelfSign(key, CommonName(Kind, KeyGeneration), validityDays, time, options);
        return new(Kind, certificate, CertGeneration + 1, KeyGeneration, PreviousCertificates);
    }

    /// <summary>
    /// A new key and certificate (Strimzi's replace-key): both generations + 1. The current certificate
    /// stays trusted as a previous certificate until <see cref="WithoutPreviousCertificates"/>.
    /// </summary>
    public CertificateAuthority ReplaceKey(int validityDays, TimeProvider time, CertificateOptions options) =>
        Create(Kind, CertGeneration + 1, KeyGeneration + 1, validityDays, time, options,
            PreviousCertificates.Add(X509CertificateLoader.LoadCertificate(Certificate.RawData)));

    /// <summary>Drops previous certificates that expired before <paramref name="now"/> (Strimzi removes them).</summary>
    public CertificateAuthority WithoutExpiredPreviousCertificates(DateTimeOffset now) =>
        new(Kind, Certificate, CertGeneration, KeyGeneration,
            PreviousCertificates.Where(c => c.NotAfter.ToUniversalTime() >= now.UtcDateTime).ToImmutableArray());

    /// <summary>Drops all previous certificates, once every pod trusts the new key.</summary>
    public CertificateAuthority WithoutPreviousCertificates() => new(Kind, Certificate, CertGeneration, KeyGeneration, []);

    /// <summary>
    /// Loads a CA from its two Secrets' data (<c>ca.crt</c> of the cert Secret, <c>ca.key</c> of the key Secret)
    /// and the generation annotations (missing = 0). <c>ca-*.crt</c> entries become previous certificates.
    /// </summary>
    public static CertificateAuthority Load(CaKind kind, IDictionary<string, byte[]> certData, IDictionary<string, byte[]> keyData,
        int certGeneration, int keyGeneration)
    {
        ArgumentNullException.ThrowIfNull(certData);
        ArgumentNullException.ThrowIfNull(keyData);
        var certPem = Pem.Text(certData, CaSecrets.CertKey);
        var keyPem = Pem.Text(keyData, CaSecrets.KeyKey);
        var certificate = X509Certificate2.CreateFromPem(certPem, keyPem);
        var previous = certData
            .Where(e => e.Key.StartsWith("ca-", StringComparison.Ordinal) && e.Key.EndsWith(".crt", StringComparison.Ordinal))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => X509Certificate2.CreateFromPem(Pem.Text(certData, e.Key)))
            .ToImmutableArray();
        return new(kind, certificate, certGeneration, keyGeneration, previous);
    }

    /// <summary>
    /// A new certificate for a stored key whose certificate is missing (Strimzi's RENEW_CERT on a missing
    /// <c>ca.crt</c>): generations as given, cert generation bumped by the caller.
    /// </summary>
    public static CertificateAuthority FromKey(CaKind kind, IDictionary<string, byte[]> keyData, int certGeneration, int keyGeneration,
        int validityDays, TimeProvider time, CertificateOptions options)
    {
        ArgumentNullException.ThrowIfNull(keyData);
        ArgumentNullException.ThrowIfNull(options);
        using var key = RSA.Create();
        key.ImportFromPem(Pem.Text(keyData, CaSecrets.KeyKey));
        var certificate = SelfSign(key, CommonName(kind, keyGeneration), validityDays, time, options);
        return new(kind, certificate, certGeneration, keyGeneration, []);
    }

    /// <summary>
    /// Issues a leaf certificate signed by this CA, valid from now for <paramref name="validityDays"/> but never
    /// beyond the CA. Subject <c>CN=&lt;commonName&gt;, O=io.strimzi</c>; key usage digitalSignature and
    /// keyEncipherment (critical); extended key usage serverAuth and clientAuth; SANs as given.
    /// </summary>
    public IssuedCertificate Issue(string commonName, IReadOnlyList<string> subjectAlternativeNames, int validityDays,
        TimeProvider time, CertificateOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(commonName);
        ArgumentNullException.ThrowIfNull(subjectAlternativeNames);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validityDays);

        var key = RSA.Create(options.LeafKeySize);
        try
        {
            var request = new CertificateRequest(Subject(commonName), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(
                X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid(Oids.ServerAuth), new Oid(Oids.ClientAuth)], false));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
            if (subjectAlternativeNames.Count > 0)
            {
                var sans = new SubjectAlternativeNameBuilder();
                foreach (var name in subjectAlternativeNames)
                {
                    if (System.Net.IPAddress.TryParse(name, out var ip))
                    {
                        sans.AddIpAddress(ip);
                    }
                    else
                    {
                        sans.AddDnsName(name);
                    }
                }

                request.CertificateExtensions.Add(sans.Build(false));
            }

            var notBefore = Now(time);
            var notAfter = notBefore.AddDays(validityDays);
            if (notAfter > NotAfter)
            {
                notAfter = NotAfter;
            }

            using var caKey = Certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("the CA has no RSA private key");
            using var unkeyed = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
                notBefore, notAfter, options.NewSerial());
            return new IssuedCertificate(unkeyed.CopyWithPrivateKey(key), X509CertificateLoader.LoadCertificate(Certificate.RawData));
        }
        finally
        {
            key.Dispose();
        }
    }

    /// <summary>
    /// Releases the key. Previous certificates carry no key and are shared between the instances that renewal,
    /// replacement and pruning derive from each other, so they are left to the garbage collector.
    /// </summary>
    public void Dispose() => Certificate.Dispose();

    internal static X500DistinguishedName Subject(string commonName)
    {
        // The builder encodes the last-added RDN first; Strimzi's (openssl's) encoding order is O then CN.
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        builder.AddOrganizationName(Organization);
        return builder.Build();
    }

    /// <summary>X.509 times have whole seconds; truncating keeps notBefore equal to the injected clock's value.</summary>
    internal static DateTimeOffset Now(TimeProvider time)
    {
        var now = time.GetUtcNow();
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    private static CertificateAuthority Create(CaKind kind, int certGeneration, int keyGeneration, int validityDays, TimeProvider time,
        CertificateOptions options, ImmutableArray<X509Certificate2> previous)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        using var key = RSA.Create(options.CaKeySize);
        var certificate = SelfSign(key, CommonName(kind, keyGeneration), validityDays, time, options);
        return new(kind, certificate, certGeneration, keyGeneration, previous);
    }

    private static X509Certificate2 SelfSign(RSA key, string commonName, int validityDays, TimeProvider time, CertificateOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validityDays);
        var subject = Subject(commonName);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var notBefore = Now(time);
        using var unkeyed = request.Create(subject, X509SignatureGenerator.CreateForRSA(key, RSASignaturePadding.Pkcs1),
            notBefore, notBefore.AddDays(validityDays), options.NewSerial());
        return unkeyed.CopyWithPrivateKey(key);
    }
}

/// <summary>Object identifiers used here. Constants only.</summary>
internal static class Oids
{
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    public const string AnyExtendedKeyUsage = "2.5.29.37.0";

    /// <summary>Java's "trusted key usage" bag attribute: makes a certificate a trusted entry of a PKCS#12 truststore.</summary>
    public const string JavaTrustedKeyUsage = "2.16.840.1.113894.746875.1.1";
}
