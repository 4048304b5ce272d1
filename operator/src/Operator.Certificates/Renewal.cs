namespace Operator.Certificates;

/// <summary>What to do with a CA this reconcile (Strimzi's <c>createRenewOrReplace</c>).</summary>
public enum CaAction
{
    None,

    /// <summary>No key: generate key and certificate.</summary>
    Create,

    /// <summary>Same key, new certificate; cert generation + 1.</summary>
    RenewCertificate,

    /// <summary>New key and certificate; key and cert generations + 1, old certificate kept trusted.</summary>
    ReplaceKey,
}

/// <summary>Strimzi's <c>certificateExpirationPolicy</c>.</summary>
public enum CertificateExpirationPolicy
{
    RenewCertificate,
    ReplaceKey,
}

/// <summary>The CA's state as read from its Secrets, input of <see cref="Renewal.DecideCa"/>. Immutable; thread-safe.</summary>
/// <param name="HasKey">The key Secret exists with <c>ca.key</c>.</param>
/// <param name="CertNotAfter">The current certificate's expiry, or null when the cert Secret or <c>ca.crt</c> is missing.</param>
/// <param name="ForceRenew"><c>strimzi.io/force-renew</c> on the cert Secret.</param>
/// <param name="ForceReplace"><c>strimzi.io/force-replace</c> on the key Secret.</param>
public sealed record CaState(bool HasKey, DateTimeOffset? CertNotAfter, bool ForceRenew = false, bool ForceReplace = false);

/// <summary>
/// Renewal decisions as pure functions of the certificate, the time and the configured days. Stateless; thread-safe.
/// Maintenance windows (Strimzi postpones renewals outside them) are the caller's: these say what is due.
/// </summary>
public static class Renewal
{
    /// <summary>
    /// Checks Strimzi's constraints on the two settings: both positive and the renewal window shorter than the validity
    /// (otherwise every new certificate would be due for renewal at once).
    /// </summary>
    public static void Validate(int validityDays, int renewalDays)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validityDays);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(renewalDays);
        if (renewalDays >= validityDays)
        {
            throw new ArgumentOutOfRangeException(nameof(renewalDays), renewalDays,
                "renewalDays must be less than validityDays (" + validityDays + ")");
        }
    }

    /// <summary>The instant a certificate expiring at <paramref name="notAfter"/> enters its renewal window.</summary>
    public static DateTimeOffset RenewalWindowStart(DateTimeOffset notAfter, int renewalDays) => notAfter.AddDays(-renewalDays);

    /// <summary>True when <paramref name="now"/> is inside the renewal window (or past expiry).</summary>
    public static bool IsDue(DateTimeOffset notAfter, DateTimeOffset now, int validityDays, int renewalDays)
    {
        Validate(validityDays, renewalDays);
        return now >= RenewalWindowStart(notAfter, renewalDays);
    }

    /// <summary>Strimzi's decision, in its priority order: missing key, missing cert, force-renew, force-replace, window.</summary>
    public static CaAction DecideCa(CaState state, DateTimeOffset now, int validityDays, int renewalDays,
        CertificateExpirationPolicy policy = CertificateExpirationPolicy.RenewCertificate)
    {
        ArgumentNullException.ThrowIfNull(state);
        Validate(validityDays, renewalDays);
        if (!state.HasKey)
        {
            return CaAction.Create;
        }

        if (state.CertNotAfter is not { } notAfter || state.ForceRenew)
        {
            return CaAction.RenewCertificate;
        }

        if (state.ForceReplace)
        {
            return CaAction.ReplaceKey;
        }

        if (IsDue(notAfter, now, validityDays, renewalDays))
        {
            return policy == CertificateExpirationPolicy.ReplaceKey ? CaAction.ReplaceKey : CaAction.RenewCertificate;
        }

        return CaAction.None;
    }

    /// <summary>
    /// Whether a leaf (node or component) certificate must be reissued: missing, signed by an older CA key or certificate
    /// generation, different SANs, or inside its renewal window.
    /// </summary>
    public static bool LeafNeedsReissue(System.Security.Cryptography.X509Certificates.X509Certificate2? leaf,
        CertificateAuthority ca, IReadOnlyCollection<string> expectedSans, DateTimeOffset now, int validityDays, int renewalDays)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(expectedSans);
        if (leaf is null)
        {
            return true;
        }

        if (!leaf.IssuerName.RawData.AsSpan().SequenceEqual(ca.Certificate.SubjectName.RawData)
            || !CertificateInspection.IsSignedBy(leaf, ca.Certificate))
        {
            return true;
        }

        var sans = CertificateInspection.SubjectAlternativeNames(leaf);
        if (!sans.ToHashSet(StringComparer.Ordinal).SetEquals(expectedSans))
        {
            return true;
        }

        return IsDue(new DateTimeOffset(leaf.NotAfter.ToUniversalTime()), now, validityDays, renewalDays);
    }
}
