using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Operator.Certificates;

namespace Operator.Certificates.Tests;

public sealed class CaLifecycleTests
{
    private static readonly SecretContext Context = new("my-cluster", "myproject", null);

    private readonly FakeTimeProvider _time = new(CaFixture.Start);

    private readonly CertificateOptions _options = CaFixture.TestOptions(new SeededRandom(11));

    [Fact]
    public void Reconcile_NoSecrets_CreatesGenerationZeroCa()
    {
        var result = Reconcile(null, null, new CaSettings());
        using var ca = result.Ca;

        Assert.Equal(CaAction.Create, result.Action);
        Assert.Equal(0, ca.CertGeneration);
        Assert.Equal(0, ca.KeyGeneration);
        Assert.Equal(CaFixture.Start.AddDays(365), ca.NotAfter);
        Assert.Equal("my-cluster-cluster-ca-cert", result.CertSecret.Metadata.Name);
        Assert.Equal(32, result.CertSecret.Data[CaSecrets.PasswordKey].Length);
    }

    [Fact]
    public void Reconcile_Twice_SecondRunReturnsStoredSecretsUnchanged()
    {
        var first = Reconcile(null, null, new CaSettings());
        _time.Advance(TimeSpan.FromDays(100));

        var second = Reconcile(first.CertSecret, first.KeySecret, new CaSettings());

        Assert.Equal(CaAction.None, second.Action);
        Assert.Same(first.CertSecret, second.CertSecret);
        Assert.Same(first.KeySecret, second.KeySecret);
        Assert.Equal(first.Ca.Certificate.Thumbprint, second.Ca.Certificate.Thumbprint);
    }

    [Fact]
    public void Reconcile_InsideRenewalWindow_RenewsCertificateWithSameKeyAndPassword()
    {
        var first = Reconcile(null, null, new CaSettings());
        _time.Advance(TimeSpan.FromDays(340));

        var renewed = Reconcile(first.CertSecret, first.KeySecret, new CaSettings());

        Assert.Equal(CaAction.RenewCertificate, renewed.Action);
        Assert.Equal("1", renewed.CertSecret.Metadata.Annotations[CaSecrets.CaCertGeneration]);
        Assert.Same(first.KeySecret, renewed.KeySecret);
        Assert.Equal(first.Ca.Certificate.GetPublicKey(), renewed.Ca.Certificate.GetPublicKey());
        Assert.Equal(_time.GetUtcNow(), renewed.Ca.NotBefore);
        Assert.Equal(first.CertSecret.Data[CaSecrets.PasswordKey], renewed.CertSecret.Data[CaSecrets.PasswordKey]);
    }

    [Fact]
    public void Reconcile_ReplaceKeyPolicyInWindow_NewKeyOldCertKeptUntilExpiry()
    {
        var settings = new CaSettings(Policy: CertificateExpirationPolicy.ReplaceKey);
        var first = Reconcile(null, null, settings);
        _time.Advance(TimeSpan.FromDays(340));

        var replaced = Reconcile(first.CertSecret, first.KeySecret, settings);

        Assert.Equal(CaAction.ReplaceKey, replaced.Action);
        Assert.Equal("1", replaced.KeySecret.Metadata.Annotations[CaSecrets.CaKeyGeneration]);
        Assert.Equal("1", replaced.CertSecret.Metadata.Annotations[CaSecrets.CaCertGeneration]);
        Assert.Contains("ca-2027-01-01T12-00-00Z.crt", replaced.CertSecret.Data.Keys);
        Assert.Equal(2, X509CertificateLoader.LoadPkcs12Collection(replaced.CertSecret.Data[CaSecrets.P12Key],
            System.Text.Encoding.ASCII.GetString(replaced.CertSecret.Data[CaSecrets.PasswordKey])).Count);

        _time.Advance(TimeSpan.FromDays(30)); // past the old certificate's expiry
        var pruned = Reconcile(replaced.CertSecret, replaced.KeySecret, settings);

        Assert.Equal(CaAction.None, pruned.Action);
        Assert.DoesNotContain("ca-2027-01-01T12-00-00Z.crt", pruned.CertSecret.Data.Keys);
        Assert.Empty(pruned.Ca.PreviousCertificates);
    }

    [Fact]
    public void Reconcile_ForceRenewAnnotationOrMissingCert_RenewsCertificate()
    {
        var first = Reconcile(null, null, new CaSettings());
        first.CertSecret.Metadata.Annotations[CaSecrets.ForceRenew] = "true";

        var forced = Reconcile(first.CertSecret, first.KeySecret, new CaSettings());
        var missing = Reconcile(null, first.KeySecret, new CaSettings());

        Assert.Equal(CaAction.RenewCertificate, forced.Action);
        Assert.False(forced.CertSecret.Metadata.Annotations.ContainsKey(CaSecrets.ForceRenew));
        Assert.Equal(CaAction.RenewCertificate, missing.Action);
        Assert.Equal(first.Ca.Certificate.GetPublicKey(), missing.Ca.Certificate.GetPublicKey());
        Assert.True(missing.Ca.Certificate.HasPrivateKey);
    }

    private CaReconcileResult Reconcile(k8s.Models.V1Secret? cert, k8s.Models.V1Secret? key, CaSettings settings) =>
        CaLifecycle.Reconcile(CaKind.Cluster, Context, cert, key, settings, _time, _options);
}
