using System.Security.Cryptography.X509Certificates;
using k8s.Models;

namespace Operator.Certificates;

/// <summary>A CA's configuration (<c>spec.clusterCa</c> / <c>spec.clientsCa</c>). Immutable; thread-safe.</summary>
public sealed record CaSettings(int ValidityDays = 365, int RenewalDays = 30,
    CertificateExpirationPolicy Policy = CertificateExpirationPolicy.RenewCertificate);

/// <summary>The CA to use this reconcile, what was done, and the two Secrets to apply. Owns <see cref="Ca"/>.</summary>
public sealed record CaReconcileResult(CertificateAuthority Ca, CaAction Action, V1Secret CertSecret, V1Secret KeySecret);

/// <summary>
/// One CA step of a reconcile (Strimzi's CaReconciler, without maintenance windows and the trust phase): read the stored
/// Secrets, decide, create, renew or replace, drop expired previous certificates, and return the Secrets. When nothing is
/// due, the stored Secrets come back unchanged, so reconciling twice changes nothing. Stateless; thread-safe.
/// </summary>
public static class CaLifecycle
{
    public static CaReconcileResult Reconcile(CaKind kind, SecretContext context, V1Secret? certSecret, V1Secret? keySecret,
        CaSettings settings, TimeProvider time, CertificateOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);

        var now = time.GetUtcNow();
        var keyData = keySecret?.Data is { } kd && kd.ContainsKey(CaSecrets.KeyKey) ? kd : null;
        var certData = certSecret?.Data is { } cd && cd.ContainsKey(CaSecrets.CertKey) ? cd : null;
        var certGeneration = CaSecrets.Generation(certSecret, CaSecrets.CaCertGeneration);
        var keyGeneration = CaSecrets.Generation(keySecret, CaSecrets.CaKeyGeneration);
        DateTimeOffset? notAfter = null;
        if (certData is not null)
        {
            using var current = X509Certificate2.CreateFromPem(Pem.Text(certData, CaSecrets.CertKey));
            notAfter = new DateTimeOffset(current.NotAfter.ToUniversalTime());
        }

        var state = new CaState(keyData is not null, notAfter,
            HasAnnotation(certSecret, CaSecrets.ForceRenew), HasAnnotation(keySecret, CaSecrets.ForceReplace));
        var action = Renewal.DecideCa(state, now, settings.ValidityDays, settings.RenewalDays, settings.Policy);

        CertificateAuthority ca;
        switch (action)
        {
            case CaAction.Create:
                ca = CertificateAuthority.Create(kind, settings.ValidityDays, time, options);
                break;
            case CaAction.RenewCertificate when certData is null:
                ca = CertificateAuthority.FromKey(kind, keyData!, certGeneration + 1, keyGeneration, settings.ValidityDays, time, options);
                break;
            default:
                var stored = CertificateAuthority.Load(kind, certData!, keyData!, certGeneration, keyGeneration);
                if (action == CaAction.None)
                {
                    ca = stored;
                    break;
                }

                using (stored)
                {
                    ca = action == CaAction.ReplaceKey
                        ? stored.ReplaceKey(settings.ValidityDays, time, options)
                        : stored.RenewCertificate(settings.ValidityDays, time, options);
                }

                break;
        }

        var pruned = ca.WithoutExpiredPreviousCertificates(now);
        var removedExpired = pruned.PreviousCertificates.Length != ca.PreviousCertificates.Length;
        ca = pruned; // shares the keyed certificate with the unpruned instance, which is simply dropped

        if (action == CaAction.None && !removedExpired)
        {
            return new(ca, action, certSecret!, keySecret!);
        }

        var password = certData is not null && certData.TryGetValue(CaSecrets.PasswordKey, out var storedPassword) && storedPassword is { Length: > 0 }
            ? System.Text.Encoding.ASCII.GetString(storedPassword)
            : options.NewPassword();
        // Renewing a certificate keeps the key, so the stored key Secret (and any force-replace request on it) stays.
        var keyOut = action == CaAction.RenewCertificate && keySecret is not null ? keySecret : CaSecrets.KeySecret(context, ca);
        return new(ca, action, CaSecrets.CertSecret(context, ca, password), keyOut);
    }

    private static bool HasAnnotation(V1Secret? secret, string annotation) =>
        secret?.Metadata?.Annotations?.ContainsKey(annotation) == true;
}
