using System.Security.Cryptography.X509Certificates;

namespace Operator.Certificates;

/// <summary>Reads the parts of certificates the renewal rules compare. Stateless; thread-safe.</summary>
public static class CertificateInspection
{
    /// <summary>DNS names then IP addresses of the SAN extension (empty without one).</summary>
    public static IReadOnlyList<string> SubjectAlternativeNames(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var extension = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (extension is null)
        {
            return [];
        }

        return extension.EnumerateDnsNames().Concat(extension.EnumerateIPAddresses().Select(ip => ip.ToString())).ToList();
    }

    /// <summary>
    /// True when the certificate's authority key id names the CA's key (its subject key id). A renewed CA certificate
    /// keeps the key, so leaves stay valid; a replaced key does not match.
    /// </summary>
    public static bool IsSignedBy(X509Certificate2 certificate, X509Certificate2 ca)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(ca);
        var authority = certificate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().FirstOrDefault()?.KeyIdentifier;
        var subject = ca.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifierBytes;
        return authority is { } a && subject is { } s && a.Span.SequenceEqual(s.Span);
    }
}
