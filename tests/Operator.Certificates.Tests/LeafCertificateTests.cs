using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Operator.Certificates;

namespace Operator.Certificates.Tests;

public sealed class LeafCertificateTests(CaFixture fixture) : IClassFixture<CaFixture>
{
    private static readonly SecretContext Context = new("my-cluster", "myproject",
        new V1OwnerReference { ApiVersion = "kafka.strimzi.io/v1", Kind = "Kafka", Name = "my-cluster", Uid = "uid-1" });

    private readonly FakeTimeProvider _time = new(CaFixture.Start.AddDays(1));

    [Fact]
    public void KafkaNodeSans_ThreeNodeClusterInMyproject_AreStrimzisExactSets()
    {
        for (var n = 0; n < 3; n++)
        {
            var pod = "my-cluster-kafka-" + n;
            Assert.Equal(
            [
                "my-cluster-kafka-bootstrap",
                "my-cluster-kafka-bootstrap.myproject",
                "my-cluster-kafka-bootstrap.myproject.svc",
                "my-cluster-kafka-bootstrap.myproject.svc.cluster.local",
                "my-cluster-kafka-brokers",
                "my-cluster-kafka-brokers.myproject",
                "my-cluster-kafka-brokers.myproject.svc",
                "my-cluster-kafka-brokers.myproject.svc.cluster.local",
                $"{pod}.my-cluster-kafka-brokers.myproject.svc",
                $"{pod}.my-cluster-kafka-brokers.myproject.svc.cluster.local",
            ], CertificateNames.KafkaNodeSans("my-cluster", "myproject", pod, isBroker: true));
        }
    }

    [Fact]
    public void KafkaNodeSans_ExternalHosts_AddedForBrokersOnly()
    {
        string[] external = ["bootstrap.example.com", "broker-0.example.com", "10.0.0.5"];

        var broker = CertificateNames.KafkaNodeSans("my-cluster", "myproject", "my-cluster-broker-0", true, external);
        var controller = CertificateNames.KafkaNodeSans("my-cluster", "myproject", "my-cluster-controller-3", false, external);

        Assert.Equal(external, broker.Skip(10));
        Assert.Equal(10, controller.Count);
        Assert.DoesNotContain("bootstrap.example.com", controller);
    }

    [Fact]
    public void Issue_BrokerCertificate_ChainsToClusterCa()
    {
        using var leaf = IssueNode("my-cluster-kafka-0");
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(fixture.ClusterCa.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().AddHours(1).UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;

        Assert.True(chain.Build(leaf.Certificate), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        Assert.Equal(2, chain.ChainElements.Count);
        Assert.Equal(fixture.ClusterCa.Certificate.Thumbprint, chain.ChainElements[1].Certificate.Thumbprint);
    }

    [Fact]
    public void Issue_BrokerCertificate_DoesNotChainToClientsCa()
    {
        using var leaf = IssueNode("my-cluster-kafka-0");
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(fixture.ClientsCa.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().AddHours(1).UtcDateTime;

        Assert.False(chain.Build(leaf.Certificate));
    }

    [Fact]
    public void Issue_BrokerCertificate_CarriesSubjectSansKeyUsageAndEku()
    {
        var sans = CertificateNames.KafkaNodeSans("my-cluster", "myproject", "my-cluster-kafka-1", true, ["10.0.0.5"]);
        using var leaf = fixture.ClusterCa.Issue(CertificateNames.KafkaNodeCommonName("my-cluster"), sans, 365, _time, fixture.Options);
        var cert = leaf.Certificate;

        Assert.Equal("my-cluster-kafka", cert.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Contains("O=io.strimzi", cert.Subject, StringComparison.Ordinal);
        Assert.Equal(sans, CertificateInspection.SubjectAlternativeNames(cert));
        var usage = Assert.Single(cert.Extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, usage.KeyUsages);
        Assert.True(usage.Critical);
        var eku = Assert.Single(cert.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        Assert.False(Assert.Single(cert.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
        Assert.True(CertificateInspection.IsSignedBy(cert, fixture.ClusterCa.Certificate));
        Assert.False(CertificateInspection.IsSignedBy(cert, fixture.ClientsCa.Certificate));
    }

    [Fact]
    public void Issue_ValidityFromInjectedClock_CappedAtCaExpiry()
    {
        using var shortLived = fixture.ClusterCa.Issue("cluster-operator", [], 30, _time, fixture.Options);
        using var capped = fixture.ClusterCa.Issue("cluster-operator", [], 365, _time, fixture.Options);

        Assert.Equal(_time.GetUtcNow(), new DateTimeOffset(shortLived.Certificate.NotBefore.ToUniversalTime()));
        Assert.Equal(_time.GetUtcNow().AddDays(30), new DateTimeOffset(shortLived.Certificate.NotAfter.ToUniversalTime()));
        Assert.Equal(fixture.ClusterCa.NotAfter, new DateTimeOffset(capped.Certificate.NotAfter.ToUniversalTime()));
    }

    [Fact]
    public void Issue_ClientCertificates_HaveStrimziCommonNames()
    {
        using var operatorCert = fixture.ClusterCa.Issue(CertificateNames.ClusterOperatorCommonName, [], 365, _time, fixture.Options);
        using var topic = fixture.ClusterCa.Issue(CertificateNames.TopicOperatorCommonName("my-cluster"), [], 365, _time, fixture.Options);
        using var user = fixture.ClientsCa.Issue("my-user", [], 365, _time, fixture.Options);

        Assert.Equal("cluster-operator", operatorCert.Certificate.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Equal("my-cluster-entity-topic-operator", topic.Certificate.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Equal("my-user", user.Certificate.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Equal(fixture.ClientsCa.Certificate.Subject, user.Certificate.Issuer);
        Assert.Empty(CertificateInspection.SubjectAlternativeNames(user.Certificate));
    }

    [Fact]
    public void BrokersSecret_ThreeNodes_HasPerPodKeysLabelsAndGenerations()
    {
        var nodes = Enumerable.Range(0, 3)
            .Select(n => new NodeCertificate("my-cluster-kafka-" + n, IssueNode("my-cluster-kafka-" + n), "pw" + n)).ToList();

        var secret = CaSecrets.BrokersSecret(Context, fixture.ClusterCa, nodes);

        Assert.Equal("my-cluster-kafka-brokers", secret.Metadata.Name);
        Assert.Equal(
            Enumerable.Range(0, 3).SelectMany(n => new[] { ".crt", ".key", ".p12", ".password" }.Select(s => $"my-cluster-kafka-{n}{s}"))
                .Order(StringComparer.Ordinal),
            secret.Data.Keys);
        Assert.Equal("pw1", Encoding.ASCII.GetString(secret.Data["my-cluster-kafka-1.password"]));
        Assert.Equal(new Dictionary<string, string>
        {
            ["strimzi.io/cluster-ca-cert-generation"] = "0",
            ["strimzi.io/cluster-ca-key-generation"] = "0",
        }, secret.Metadata.Annotations);
        Assert.Equal("my-cluster-kafka", secret.Metadata.Labels["strimzi.io/name"]);
        Assert.Equal("kafka", secret.Metadata.Labels["strimzi.io/component-type"]);
        Assert.Equal("strimzi-cluster-operator", secret.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal("uid-1", Assert.Single(secret.Metadata.OwnerReferences).Uid);

        var keystore = X509CertificateLoader.LoadPkcs12Collection(secret.Data["my-cluster-kafka-2.p12"], "pw2");
        Assert.Equal(2, keystore.Count);
        var keyed = Assert.Single(keystore, c => c.HasPrivateKey);
        Assert.Equal(nodes[2].Certificate.Certificate.Thumbprint, keyed.Thumbprint);

        var pem = Encoding.ASCII.GetString(secret.Data["my-cluster-kafka-0.crt"]);
        Assert.Equal(2, pem.Split("BEGIN CERTIFICATE").Length - 1);
        var reloaded = X509Certificate2.CreateFromPem(pem, Encoding.ASCII.GetString(secret.Data["my-cluster-kafka-0.key"]));
        Assert.Equal(nodes[0].Certificate.Certificate.Thumbprint, reloaded.Thumbprint);
        Assert.True(reloaded.HasPrivateKey);
    }

    [Fact]
    public void ComponentSecrets_Names_KeysAndLabels()
    {
        using var operatorCert = fixture.ClusterCa.Issue(CertificateNames.ClusterOperatorCommonName, [], 365, _time, fixture.Options);
        using var topic = fixture.ClusterCa.Issue(CertificateNames.TopicOperatorCommonName("my-cluster"), [], 365, _time, fixture.Options);
        using var node = IssueNode("my-cluster-broker-0");

        var co = CaSecrets.ClusterOperatorSecret(Context, fixture.ClusterCa, operatorCert, "pw");
        var eo = CaSecrets.EntityOperatorSecret(Context, fixture.ClusterCa, topic, topicOperator: true);
        var perNode = CaSecrets.NodeSecret(Context, fixture.ClusterCa, new NodeCertificate("my-cluster-broker-0", node, "pw"));

        Assert.Equal("my-cluster-cluster-operator-certs", co.Metadata.Name);
        Assert.Equal(["cluster-operator.crt", "cluster-operator.key", "cluster-operator.p12", "cluster-operator.password"], co.Data.Keys);
        Assert.Equal("0", co.Metadata.Annotations["strimzi.io/cluster-ca-cert-generation"]);
        Assert.Equal("my-cluster-entity-topic-operator-certs", eo.Metadata.Name);
        Assert.Equal(["entity-operator.crt", "entity-operator.key"], eo.Data.Keys);
        Assert.Equal("my-cluster-entity-operator", eo.Metadata.Labels["strimzi.io/name"]);
        Assert.Equal("my-cluster-broker-0", perNode.Metadata.Name);
        Assert.Equal(["my-cluster-broker-0.crt", "my-cluster-broker-0.key"], perNode.Data.Keys);
    }

    private IssuedCertificate IssueNode(string pod) =>
        fixture.ClusterCa.Issue(CertificateNames.KafkaNodeCommonName("my-cluster"),
            CertificateNames.KafkaNodeSans("my-cluster", "myproject", pod, true), 365, _time, fixture.Options);
}
