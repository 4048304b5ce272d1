using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Operator.Certificates;

/// <summary>A leaf certificate with its private key and the CA certificate that signed it. Immutable; thread-safe.</summary>
public sealed class IssuedCertificate : IDisposable
{
    internal IssuedCertificate(X509Certificate2 certificate, X509Certificate2 issuer)
    {
        Certificate = certificate;
        Issuer = issuer;
    }

    /// <summary>The leaf certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The signing CA's certificate (no key).</summary>
    public X509Certificate2 Issuer { get; }

    /// <summary>The leaf followed by the CA certificate, as Strimzi writes <c>&lt;pod&gt;.crt</c> since 0.50 (full chain).</summary>
    public string ChainPem => Certificate.ExportCertificatePem() + "\n" + Issuer.ExportCertificatePem() + "\n";

    /// <summary>The leaf certificate alone.</summary>
    public string CertificatePem => Certificate.ExportCertificatePem() + "\n";

    /// <summary>The private key as unencrypted PKCS#8 PEM (<c>BEGIN PRIVATE KEY</c>), as openssl writes it.</summary>
    public string KeyPem
    {
        get
        {
            using var key = Certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("no RSA private key");
            return key.ExportPkcs8PrivateKeyPem() + "\n";
        }
    }

    /// <summary>A PKCS#12 keystore with the key, the leaf and the CA, protected by <paramref name="password"/>.</summary>
    public byte[] ToPkcs12(string password) => Pkcs12.KeyStore(Certificate, Issuer, password);

    public void Dispose()
    {
        Certificate.Dispose();
        Issuer.Dispose();
    }
}

/// <summary>PKCS#12 encoding (AES-256-CBC, SHA-256 MAC) for keystores and Java-readable truststores. Stateless; thread-safe.</summary>
internal static class Pkcs12
{
    private const int Iterations = 10_000;

    private static readonly PbeParameters Encryption = new(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, Iterations);

    /// <summary>
    /// A truststore of certificates only (<c>ca.p12</c>). Each certificate carries Java's trusted-key-usage
    /// attribute, without which Java's KeyStore ignores certificate-only PKCS#12 entries.
    /// </summary>
    public static byte[] TrustStore(IEnumerable<X509Certificate2> certificates, string password)
    {
        var contents = new Pkcs12SafeContents();
        foreach (var certificate in certificates)
        {
            var bag = contents.AddCertificate(certificate);
            // Pkcs12SafeBag attributes hold (type, SET OF values); AsnEncodedData carries one value, so write the inner OID.
            var value = new AsnWriter(AsnEncodingRules.DER);
            value.WriteObjectIdentifier(Oids.AnyExtendedKeyUsage);
            bag.Attributes.Add(new AsnEncodedData(new Oid(Oids.JavaTrustedKeyUsage), value.Encode()));
            bag.Attributes.Add(new Pkcs9LocalKeyId(certificate.GetCertHash(HashAlgorithmName.SHA256)));
        }

        var builder = new Pkcs12Builder();
        builder.AddSafeContentsEncrypted(contents, password, Encryption);
        builder.SealWithMac(password, HashAlgorithmName.SHA256, Iterations);
        return builder.Encode();
    }

    /// <summary>A keystore: the private key and the certificate chain, entries linked by a local key id.</summary>
    public static byte[] KeyStore(X509Certificate2 leaf, X509Certificate2 issuer, string password)
    {
        using var key = leaf.GetRSAPrivateKey() ?? throw new InvalidOperationException("no RSA private key");
        var keyId = new Pkcs9LocalKeyId(leaf.GetCertHash(HashAlgorithmName.SHA256));
        var certificates = new Pkcs12SafeContents();
        certificates.AddCertificate(leaf).Attributes.Add(keyId);
        certificates.AddCertificate(issuer);
        var keys = new Pkcs12SafeContents();
        keys.AddShroudedKey(key, password, Encryption).Attributes.Add(keyId);

        var builder = new Pkcs12Builder();
        builder.AddSafeContentsEncrypted(certificates, password, Encryption);
        builder.AddSafeContentsUnencrypted(keys);
        builder.SealWithMac(password, HashAlgorithmName.SHA256, Iterations);
        return builder.Encode();
    }
}

/// <summary>Reads PEM text out of Secret data. Stateless; thread-safe.</summary>
internal static class Pem
{
    public static string Text(IDictionary<string, byte[]> data, string key) =>
        data.TryGetValue(key, out var bytes) && bytes is not null
            ? Encoding.ASCII.GetString(bytes)
            : throw new KeyNotFoundException("Secret data has no key " + key);
}
