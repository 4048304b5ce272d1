using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Operator.Certificates;

namespace Operator.Certificates.Tests;

public sealed class RenewalTests(CaFixture fixture) : IClassFixture<CaFixture>
{
    private static readonly DateTimeOffset NotAfter = CaFixture.Start.AddDays(365);

    private static readonly SecretContext Context = new("my-cluster", "myproject", null);

    [Theory]
    [InlineData(0, false)]
    [InlineData(334, false)]
    [InlineData(335, true)]
    [InlineData(364, true)]
    [InlineData(400, true)]
    public void IsDue_FakeClockAdvanced_RenewsOnlyInsideWindow(int days, bool expected)
    {
        var time = new FakeTimeProvider(CaFixture.Start);
        time.Advance(TimeSpan.FromDays(days));

        Assert.Equal(expected, Renewal.IsDue(NotAfter, time.GetUtcNow(), validityDays: 365, renewalDays: 30));
    }

    [Fact]
    public void IsDue_OneSecondBeforeWindow_NotDue()
    {
        var time = new FakeTimeProvider(NotAfter.AddDays(-30).AddSeconds(-1));

        Assert.False(Renewal.IsDue(NotAfter, time.GetUtcNow(), 365, 30));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(Renewal.IsDue(NotAfter, time.GetUtcNow(), 365, 30));
    }

    [Theory]
    [InlineData(365, 365)]
    [InlineData(365, 0)]
    [InlineData(0, 30)]
    public void Validate_RenewalNotShorterThanValidity_Throws(int validity, int renewal) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Renewal.Validate(validity, renewal));

    [Fact]
    public void DecideCa_StrimziPriorityOrder_FirstMatchingRuleWins()
    {
        var early = CaFixture.Start.AddDays(1);
        var late = NotAfter.AddDays(-1);

        Assert.Equal(CaAction.Create, Renewal.DecideCa(new(false, NotAfter, true, true), early, 365, 30));
        Assert.Equal(CaAction.RenewCertificate, Renewal.DecideCa(new(true, null, false, true), early, 365, 30));
        Assert.Equal(CaAction.RenewCertificate, Renewal.DecideCa(new(true, NotAfter, true, true), early, 365, 30));
        Assert.Equal(CaAction.ReplaceKey, Renewal.DecideCa(new(true, NotAfter, false, true), early, 365, 30));
        Assert.Equal(CaAction.None, Renewal.DecideCa(new(true, NotAfter), early, 365, 30));
        Assert.Equal(CaAction.RenewCertificate, Renewal.DecideCa(new(true, NotAfter), late, 365, 30));
        Assert.Equal(CaAction.ReplaceKey, Renewal.DecideCa(new(true, NotAfter), late, 365, 30, CertificateExpirationPolicy.ReplaceKey));
    }

    [Fact]
    public void RenewCertificate_KeepsKey_BumpsCertGenerationOnly()
    {
        var time = new FakeTimeProvider(NotAfter.AddDays(-10));
        using var renewed = fixture.ClusterCa.RenewCertificate(365, time, fixture.Options);

        Assert.Equal(1, renewed.CertGeneration);
        Assert.Equal(0, renewed.KeyGeneration);
        Assert.Equal(fixture.ClusterCa.Certificate.GetPublicKey(), renewed.Certificate.GetPublicKey());
        Assert.Equal(time.GetUtcNow(), renewed.NotBefore);
        Assert.Equal("cluster-ca v0", renewed.Certificate.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Empty(renewed.PreviousCertificates);
    }

    [Fact]
    public void ReplaceKey_NewKey_BumpsBothGenerationsAndKeepsOldCertTrusted()
    {
        var time = new FakeTimeProvider(NotAfter.AddDays(-10));
        using var replaced = fixture.ClusterCa.ReplaceKey(365, time, fixture.Options);

        Assert.Equal(1, replaced.CertGeneration);
        Assert.Equal(1, replaced.KeyGeneration);
        Assert.Equal("cluster-ca v1", replaced.Certificate.GetNameInfo(X509NameType.SimpleName, false));
        Assert.NotEqual(fixture.ClusterCa.Certificate.GetPublicKey(), replaced.Certificate.GetPublicKey());

        var secret = CaSecrets.CertSecret(Context, replaced, "pw");
        var oldKey = "ca-" + NotAfter.ToString("yyyy-MM-dd'T'HH-mm-ss'Z'", System.Globalization.CultureInfo.InvariantCulture) + ".crt";
        Assert.Equal(["ca-2027-01-01T12-00-00Z.crt", "ca.crt", "ca.p12", "ca.password"], secret.Data.Keys);
        Assert.Equal(oldKey, secret.Data.Keys.First());
        Assert.Equal("1", secret.Metadata.Annotations["strimzi.io/ca-cert-generation"]);
        Assert.Equal(fixture.ClusterCa.Certificate.Thumbprint,
            X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(secret.Data[oldKey])).Thumbprint);
        var truststore = X509CertificateLoader.LoadPkcs12Collection(secret.Data["ca.p12"], "pw");
        Assert.Equal(
            new[] { replaced.Certificate.Thumbprint, fixture.ClusterCa.Certificate.Thumbprint }.Order(StringComparer.Ordinal),
            truststore.Select(c => c.Thumbprint).Order(StringComparer.Ordinal));

        var keySecret = CaSecrets.KeySecret(Context, replaced);
        using var reloaded = CertificateAuthority.Load(CaKind.Cluster, secret.Data, keySecret.Data, 1, 1);
        Assert.Equal(fixture.ClusterCa.Certificate.Thumbprint, Assert.Single(reloaded.PreviousCertificates).Thumbprint);
        Assert.Empty(reloaded.WithoutPreviousCertificates().PreviousCertificates);
        Assert.Single(reloaded.WithoutExpiredPreviousCertificates(NotAfter).PreviousCertificates);
        Assert.Empty(reloaded.WithoutExpiredPreviousCertificates(NotAfter.AddSeconds(1)).PreviousCertificates);
    }

    [Fact]
    public void LeafNeedsReissue_KeyReplacedSansChangedOrInWindow_True()
    {
        var issuedAt = new FakeTimeProvider(CaFixture.Start.AddDays(1));
        var sans = CertificateNames.KafkaNodeSans("my-cluster", "myproject", "my-cluster-kafka-0", true);
        using var leaf = fixture.ClusterCa.Issue("my-cluster-kafka", sans, 200, issuedAt, fixture.Options);
        using var replaced = fixture.ClusterCa.ReplaceKey(365, issuedAt, fixture.Options);
        var soon = issuedAt.GetUtcNow().AddDays(10);

        Assert.True(Renewal.LeafNeedsReissue(null, fixture.ClusterCa, sans, soon, 365, 30));
        Assert.False(Renewal.LeafNeedsReissue(leaf.Certificate, fixture.ClusterCa, sans, soon, 365, 30));
        Assert.True(Renewal.LeafNeedsReissue(leaf.Certificate, replaced, sans, soon, 365, 30));
        Assert.True(Renewal.LeafNeedsReissue(leaf.Certificate, fixture.ClusterCa, [.. sans, "extra.example.com"], soon, 365, 30));
        Assert.True(Renewal.LeafNeedsReissue(leaf.Certificate, fixture.ClusterCa, sans, issuedAt.GetUtcNow().AddDays(171), 365, 30));
    }
}
