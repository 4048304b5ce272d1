using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Operator.Certificates;

namespace Operator.Certificates.Tests;

public sealed class CertificateAuthorityTests(CaFixture fixture) : IClassFixture<CaFixture>
{
    private static readonly V1OwnerReference Owner = new()
    {
        ApiVersion = "kafka.strimzi.io/v1", Kind = "Kafka", Name = "my-cluster", Uid = "uid-1", BlockOwnerDeletion = true, Controller = false,
    };

    private static readonly SecretContext Context = new("my-cluster", "myproject", Owner, new Dictionary<string, string> { ["team"] = "a" });

    [Fact]
    public void Create_ClusterCa_HasStrimziSubjectAndValidityFromInjectedClock()
    {
        var ca = fixture.ClusterCa.Certificate;

        Assert.Equal("cluster-ca v0", ca.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Contains("O=io.strimzi", ca.Subject, StringComparison.Ordinal);
        Assert.Equal(ca.Subject, ca.Issuer);
        Assert.Equal(CaFixture.Start, fixture.ClusterCa.NotBefore);
        Assert.Equal(CaFixture.Start.AddDays(365), fixture.ClusterCa.NotAfter);
        Assert.Equal(0, fixture.ClusterCa.CertGeneration);
        Assert.Equal(0, fixture.ClusterCa.KeyGeneration);
        Assert.Equal("clients-ca v0", fixture.ClientsCa.Certificate.GetNameInfo(X509NameType.SimpleName, false));
    }

    [Fact]
    public void Create_Subject_EncodesOrganizationBeforeCommonNameAsStrimzi()
    {
        var rdns = fixture.ClusterCa.Certificate.SubjectName.EnumerateRelativeDistinguishedNames(reversed: false)
            .Select(r => (r.GetSingleElementType().Value, r.GetSingleElementValue()));

        Assert.Equal([("2.5.4.10", "io.strimzi"), ("2.5.4.3", "cluster-ca v0")], rdns);
    }

    [Fact]
    public void Create_ClusterCa_IsCriticalCaWithCertSignKeyUsage()
    {
        var extensions = fixture.ClusterCa.Certificate.Extensions;
        var constraints = Assert.Single(extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = Assert.Single(extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.True(usage.Critical);
        Assert.Equal(2048, fixture.ClusterCa.Certificate.GetRSAPublicKey()!.KeySize);
    }

    [Fact]
    public void Load_FromBuiltSecrets_RoundTripsCertificateKeyAndGenerations()
    {
        var cert = CaSecrets.CertSecret(Context, fixture.ClusterCa, "pw");
        var key = CaSecrets.KeySecret(Context, fixture.ClusterCa);

        using var loaded = CertificateAuthority.Load(CaKind.Cluster, cert.Data, key.Data,
            CaSecrets.Generation(cert, CaSecrets.CaCertGeneration), CaSecrets.Generation(key, CaSecrets.CaKeyGeneration));

        Assert.Equal(fixture.ClusterCa.Certificate.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.True(loaded.Certificate.HasPrivateKey);
        var data = Encoding.ASCII.GetBytes("sign me");
        using var loadedKey = loaded.Certificate.GetRSAPrivateKey()!;
        using var originalPublic = fixture.ClusterCa.Certificate.GetRSAPublicKey()!;
        var signature = loadedKey.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.True(originalPublic.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        Assert.Equal(0, loaded.CertGeneration);
        Assert.Empty(loaded.PreviousCertificates);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", Encoding.ASCII.GetString(key.Data[CaSecrets.KeyKey]), StringComparison.Ordinal);
    }

    [Fact]
    public void CertSecret_Pkcs12_OpensWithPasswordOnly()
    {
        var secret = CaSecrets.CertSecret(Context, fixture.ClusterCa, "s3cret");

        Assert.Equal("s3cret", Encoding.ASCII.GetString(secret.Data[CaSecrets.PasswordKey]));
        var store = X509CertificateLoader.LoadPkcs12Collection(secret.Data[CaSecrets.P12Key], "s3cret");
        var only = Assert.Single(store);
        Assert.Equal(fixture.ClusterCa.Certificate.Thumbprint, only.Thumbprint);
        Assert.False(only.HasPrivateKey);
        Assert.ThrowsAny<CryptographicException>(() => X509CertificateLoader.LoadPkcs12Collection(secret.Data[CaSecrets.P12Key], "wrong"));
    }

    [Fact]
    public void CertSecret_Pkcs12_MarksCertificatesAsJavaTrustedEntries()
    {
        var secret = CaSecrets.CertSecret(Context, fixture.ClusterCa, "pw");

        var info = System.Security.Cryptography.Pkcs.Pkcs12Info.Decode(secret.Data[CaSecrets.P12Key], out _, skipCopy: true);
        var contents = Assert.Single(info.AuthenticatedSafe);
        contents.Decrypt("pw");
        var bag = Assert.IsType<System.Security.Cryptography.Pkcs.Pkcs12CertBag>(Assert.Single(contents.GetBags()));
        var trusted = Assert.Single(bag.Attributes.Cast<CryptographicAttributeObject>(), a => a.Oid.Value == "2.16.840.1.113894.746875.1.1");
        var value = new System.Formats.Asn1.AsnReader(trusted.Values[0].RawData, System.Formats.Asn1.AsnEncodingRules.DER);
        Assert.Equal("2.5.29.37.0", value.ReadObjectIdentifier());
        Assert.True(info.VerifyMac("pw"));
    }

    [Fact]
    public void CertAndKeySecrets_Metadata_HaveStrimziNamesKeysLabelsAnnotationsAndOwner()
    {
        var clusterCert = CaSecrets.CertSecret(Context, fixture.ClusterCa, "pw");
        var clusterKey = CaSecrets.KeySecret(Context, fixture.ClusterCa);
        var clientsCert = CaSecrets.CertSecret(Context, fixture.ClientsCa, "pw");
        var clientsKey = CaSecrets.KeySecret(Context, fixture.ClientsCa);

        Assert.Equal(
            ["my-cluster-cluster-ca-cert", "my-cluster-cluster-ca", "my-cluster-clients-ca-cert", "my-cluster-clients-ca"],
            new[] { clusterCert, clusterKey, clientsCert, clientsKey }.Select(s => s.Metadata.Name));
        Assert.Equal(["ca.crt", "ca.p12", "ca.password"], clusterCert.Data.Keys);
        Assert.Equal(["ca.key"], clusterKey.Data.Keys);
        Assert.Equal(["ca.crt", "ca.p12", "ca.password"], clientsCert.Data.Keys);
        Assert.Equal(new Dictionary<string, string> { ["strimzi.io/ca-cert-generation"] = "0" }, clusterCert.Metadata.Annotations);
        Assert.Equal(new Dictionary<string, string> { ["strimzi.io/ca-key-generation"] = "0" }, clusterKey.Metadata.Annotations);
        Assert.Equal(new Dictionary<string, string>
        {
            ["strimzi.io/cluster"] = "my-cluster",
            ["strimzi.io/component-type"] = "certificate-authority",
            ["strimzi.io/kind"] = "Kafka",
            ["strimzi.io/name"] = "strimzi",
            ["team"] = "a",
        }, clusterKey.Metadata.Labels);
        foreach (var secret in new[] { clusterCert, clusterKey, clientsCert, clientsKey })
        {
            Assert.Equal("myproject", secret.Metadata.NamespaceProperty);
            Assert.Equal("Opaque", secret.Type);
            Assert.Same(Owner, Assert.Single(secret.Metadata.OwnerReferences));
        }

        var unowned = CaSecrets.KeySecret(Context with { Owner = null }, fixture.ClusterCa);
        Assert.Null(unowned.Metadata.OwnerReferences);
    }

    [Fact]
    public void Create_SameClockDifferentRandomness_DifferentKeysSerialsAndPasswords()
    {
        var time = new FakeTimeProvider(CaFixture.Start);
        using var first = CertificateAuthority.Create(CaKind.Cluster, 365, time, CaFixture.TestOptions(new SeededRandom(1)));
        using var second = CertificateAuthority.Create(CaKind.Cluster, 365, time, CaFixture.TestOptions(new SeededRandom(2)));

        Assert.Equal(first.NotBefore, second.NotBefore);
        Assert.NotEqual(first.Certificate.SerialNumber, second.Certificate.SerialNumber);
        Assert.NotEqual(first.Certificate.GetPublicKey(), second.Certificate.GetPublicKey());
        Assert.NotEqual(CaFixture.TestOptions(new SeededRandom(1)).NewPassword(), CaFixture.TestOptions(new SeededRandom(2)).NewPassword());
    }

    [Fact]
    public void Create_SameSeededRandomness_SameSerialFromInjectedSource()
    {
        var time = new FakeTimeProvider(CaFixture.Start);
        using var first = CertificateAuthority.Create(CaKind.Cluster, 365, time, CaFixture.TestOptions(new SeededRandom(7)));
        using var second = CertificateAuthority.Create(CaKind.Cluster, 365, time, CaFixture.TestOptions(new SeededRandom(7)));

        // Serials come from the injected source; keys always come from the OS CSPRNG, so they still differ.
        Assert.Equal(first.Certificate.SerialNumber, second.Certificate.SerialNumber);
        Assert.NotEqual(first.Certificate.GetPublicKey(), second.Certificate.GetPublicKey());
    }

    [Fact]
    public void CertificateOptions_Defaults_Rsa4096KeysClusterLocalAndThirtyTwoCharPasswords()
    {
        var options = new CertificateOptions { Random = new SeededRandom(5) };

        Assert.Equal(4096, options.CaKeySize);
        Assert.Equal(4096, options.LeafKeySize);
        Assert.Equal("cluster.local", options.ClusterDomain);
        Assert.Equal(32, options.NewPassword().Length);
        Assert.Equal("fixed", (options with { Passwords = () => "fixed" }).NewPassword());
    }

    [Fact]
    public void Password_Generate_UsesAlphanumericsOfRequestedLength()
    {
        var password = Password.Generate(new SeededRandom(3), 32);

        Assert.Equal(32, password.Length);
        Assert.All(password, c => Assert.True(char.IsAsciiLetterOrDigit(c)));
        Assert.Equal(password, Password.Generate(new SeededRandom(3), 32));
    }
}
