using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Operator.Api;
using Operator.Certificates;
using Operator.Kube;
using Operator.Model;

namespace Operator.Reconcilers.Tests;

/// <summary>The certificates step of the Kafka reconcile against the in-process API server.</summary>
public sealed class CertificateReconcileTests
{
    private const string Cluster = "my-cluster";
    private const string Ns = OperatorFixture.Namespace;
    private static readonly ObjectKey KafkaKey = new(Ns, Cluster);
    private static readonly string[] Pods =
        ["my-cluster-broker-0", "my-cluster-broker-1", "my-cluster-broker-2", "my-cluster-controller-3", "my-cluster-controller-4", "my-cluster-controller-5"];

    private static Task<V1Secret> SecretAsync(OperatorFixture fixture, string name, Func<V1Secret, bool>? condition = null) =>
        OperatorFixture.EventuallyAsync(async () =>
        {
            var list = await fixture.Client.CoreV1.ListNamespacedSecretAsync(Ns);
            return list.Items.FirstOrDefault(s => s.Metadata.Name == name);
        }, s => s is not null && (condition is null || condition(s)), "Secret " + name).ContinueWith(t => t.Result!, TaskScheduler.Default);

    private static X509Certificate2 Leaf(V1Secret secret, string name) => X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(secret.Data[name + ".crt"]));

    private static bool Chains(X509Certificate2 leaf, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = leaf.NotBefore.AddMinutes(1);
        return chain.Build(leaf);
    }

    [Fact]
    public async Task Reconcile_NewCluster_CreatesCaNodeAndOperatorSecrets_WithStrimziNamesKeysLabelsAndOwners()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));
        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.WaitingForPodsReason) == true, "the first reconcile");

        var clusterCaCert = await SecretAsync(fixture, "my-cluster-cluster-ca-cert");
        var clusterCaKey = await SecretAsync(fixture, "my-cluster-cluster-ca");
        var clientsCaCert = await SecretAsync(fixture, "my-cluster-clients-ca-cert");
        var clientsCaKey = await SecretAsync(fixture, "my-cluster-clients-ca");
        var brokers = await SecretAsync(fixture, "my-cluster-kafka-brokers");
        var operatorCerts = await SecretAsync(fixture, "my-cluster-cluster-operator-certs");

        Assert.Equal(["ca.crt", "ca.p12", "ca.password"], clusterCaCert.Data.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["ca.key"], clusterCaKey.Data.Keys);
        Assert.Equal(["ca.crt", "ca.p12", "ca.password"], clientsCaCert.Data.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["ca.key"], clientsCaKey.Data.Keys);
        Assert.Equal(Pods.SelectMany(p => new[] { p + ".crt", p + ".key", p + ".p12", p + ".password" }).Order(StringComparer.Ordinal),
            brokers.Data.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["cluster-operator.crt", "cluster-operator.key", "cluster-operator.p12", "cluster-operator.password"],
            operatorCerts.Data.Keys.Order(StringComparer.Ordinal));

        // CA Secrets: Strimzi's CA labels and generations; Kafka-owned (generateSecretOwnerReference defaults to true).
        foreach (var ca in new[] { clusterCaCert, clusterCaKey, clientsCaCert, clientsCaKey })
        {
            Assert.Equal(("strimzi", "certificate-authority", Cluster, "Kafka"),
                (ca.Metadata.Labels[StrimziLabels.Name], ca.Metadata.Labels[StrimziLabels.ComponentType], ca.Metadata.Labels[StrimziLabels.Cluster], ca.Metadata.Labels[StrimziLabels.Kind]));
            var owner = Assert.Single(ca.Metadata.OwnerReferences);
            Assert.Equal(("Kafka", Cluster, kafka.Metadata.Uid, true), (owner.Kind, owner.Name, owner.Uid, owner.BlockOwnerDeletion));
        }

        Assert.Equal("0", clusterCaCert.Metadata.Annotations[CaSecrets.CaCertGeneration]);
        Assert.Equal("0", clusterCaKey.Metadata.Annotations[CaSecrets.CaKeyGeneration]);
        foreach (var secret in new[] { brokers, operatorCerts })
        {
            Assert.Equal(("my-cluster-kafka", "kafka"), (secret.Metadata.Labels[StrimziLabels.Name], secret.Metadata.Labels[StrimziLabels.ComponentType]));
            Assert.Equal("0", secret.Metadata.Annotations[CaSecrets.ClusterCaCertGeneration]);
            Assert.Equal("0", secret.Metadata.Annotations[CaSecrets.ClusterCaKeyGeneration]);
            Assert.Equal(kafka.Metadata.Uid, Assert.Single(secret.Metadata.OwnerReferences).Uid);
        }

        // Every node certificate chains to the cluster CA and names the Services and its pod; the operator's is CN=cluster-operator.
        using var caCert = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(clusterCaCert.Data["ca.crt"]));
        Assert.Equal("CN=cluster-ca v0, O=io.strimzi", caCert.Subject);
        foreach (var pod in Pods)
        {
            using var leaf = Leaf(brokers, pod);
            Assert.True(Chains(leaf, caCert), pod + " chains to the cluster CA");
            Assert.Equal("CN=my-cluster-kafka, O=io.strimzi", leaf.Subject);
            var sans = CertificateInspection.SubjectAlternativeNames(leaf);
            Assert.Contains($"{pod}.my-cluster-kafka-brokers.{Ns}.svc", sans);
            Assert.Contains($"{pod}.my-cluster-kafka-brokers.{Ns}.svc.cluster.local", sans);
            Assert.Contains($"my-cluster-kafka-bootstrap.{Ns}.svc", sans);
            Assert.Contains("my-cluster-kafka-brokers", sans);
            Assert.Equal(32, brokers.Data[pod + ".password"].Length);
        }

        using (var operatorLeaf = Leaf(operatorCerts, "cluster-operator"))
        {
            Assert.True(Chains(operatorLeaf, caCert));
            Assert.Equal("CN=cluster-operator, O=io.strimzi", operatorLeaf.Subject);
        }

        // The pods' definitions carry the CA generations.
        var podSet = await fixture.GetPodSetAsync("my-cluster-broker", Ns);
        Assert.Equal("0", (string?)podSet.Spec!.Pods![0]["metadata"]!["annotations"]![KafkaClusterModel.ClusterCaCertGenerationAnnotation]);

        // Once the cache has every Secret, a reconcile rewrites none of them.
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(fixture.Operator.Caches.Secrets.Items().Count(s => s.Metadata.Name.StartsWith(Cluster, StringComparison.Ordinal))),
            n => n == 6, "the cache to see the six Secrets");
        await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None);
        var writes = fixture.Operator.Applier.Writes;
        await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None);
        Assert.Equal(writes, fixture.Operator.Applier.Writes);
        var again = await fixture.Client.CoreV1.ReadNamespacedSecretAsync("my-cluster-kafka-brokers", Ns);
        Assert.Equal(brokers.Metadata.ResourceVersion, again.Metadata.ResourceVersion);
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_ClockInsideRenewalWindow_RenewsCaCertificate_ReissuesNodeCertificates_AndBumpsGenerations()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));
        var caCertBefore = await SecretAsync(fixture, "my-cluster-cluster-ca-cert");
        var caKeyBefore = await SecretAsync(fixture, "my-cluster-cluster-ca");
        var brokersBefore = await SecretAsync(fixture, "my-cluster-kafka-brokers");
        using var leafBefore = Leaf(brokersBefore, "my-cluster-broker-0");

        // 340 days on: inside the 30-day window of the 365-day CA (the pods are not Ready, so the operator keeps requeueing).
        fixture.Clock.Advance(TimeSpan.FromDays(340));

        var caCert = await SecretAsync(fixture, "my-cluster-cluster-ca-cert", s => s.Metadata.Annotations[CaSecrets.CaCertGeneration] == "1");
        var brokers = await SecretAsync(fixture, "my-cluster-kafka-brokers", s => s.Metadata.Annotations[CaSecrets.ClusterCaCertGeneration] == "1");
        var operatorCerts = await SecretAsync(fixture, "my-cluster-cluster-operator-certs", s => s.Metadata.Annotations[CaSecrets.ClusterCaCertGeneration] == "1");

        // renew-certificate: same key (generation and bytes), new CA certificate.
        var caKey = await fixture.Client.CoreV1.ReadNamespacedSecretAsync("my-cluster-cluster-ca", Ns);
        Assert.Equal("0", caKey.Metadata.Annotations[CaSecrets.CaKeyGeneration]);
        Assert.Equal(caKeyBefore.Data["ca.key"], caKey.Data["ca.key"]);
        Assert.NotEqual(caCertBefore.Data["ca.crt"], caCert.Data["ca.crt"]);
        Assert.Equal(caCertBefore.Data["ca.password"], caCert.Data["ca.password"]);

        using var newCa = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(caCert.Data["ca.crt"]));
        using var leaf = Leaf(brokers, "my-cluster-broker-0");
        Assert.NotEqual(leafBefore.SerialNumber, leaf.SerialNumber);
        Assert.True(leaf.NotAfter > leafBefore.NotAfter.AddDays(300), "the new leaf is valid for about another year");
        Assert.True(Chains(leaf, newCa));
        Assert.Equal(brokersBefore.Data["my-cluster-broker-0.password"], brokers.Data["my-cluster-broker-0.password"]);
        Assert.Equal("1", operatorCerts.Metadata.Annotations[CaSecrets.ClusterCaCertGeneration]);

        // The new generation reaches the pods' definitions, which is what restarts the pods onto the new certificates.
        await OperatorFixture.EventuallyAsync(() => fixture.GetPodSetAsync("my-cluster-broker", Ns),
            s => s.Spec!.Pods!.All(p => (string?)p["metadata"]!["annotations"]![KafkaClusterModel.ClusterCaCertGenerationAnnotation] == "1"), "pod generation 1");
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_CustomClusterCaMissing_NotReadyNoCertificateSecret_ClientsCaWithoutOwnerWhenAsked()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var docs = OperatorFixture.Example("kafka/kafka-ephemeral.yaml");
        var spec = docs.Single(d => (string?)d["kind"] == "Kafka")["spec"]!.AsObject();
        spec["clusterCa"] = new JsonObject { ["generateCertificateAuthority"] = false };
        spec["clientsCa"] = new JsonObject { ["generateSecretOwnerReference"] = false };
        await fixture.CreateAsync(docs);

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.NoCertificateSecretReason) == true, "NotReady NoCertificateSecretException");
        Assert.Equal("The Cluster CA Cert Secret is missing", Assert.Single(kafka.Status!.Conditions!).Message);
        Assert.Empty(await fixture.ListPodSetsAsync(Ns));

        // The user provides the cluster CA (as Strimzi's docs do: the cert and key Secrets, labelled for the cluster).
        using var ca = Operator.Certificates.CertificateAuthority.Create(CaKind.Cluster, 365, TimeProvider.System, OperatorFixture.TestCertificates);
        var context = new SecretContext(Cluster, Ns, null);
        await fixture.Client.CoreV1.CreateNamespacedSecretAsync(CaSecrets.CertSecret(context, ca, "password"), Ns);
        await fixture.Client.CoreV1.CreateNamespacedSecretAsync(CaSecrets.KeySecret(context, ca), Ns);

        var brokers = await SecretAsync(fixture, "my-cluster-kafka-brokers");
        using (var leaf = Leaf(brokers, "my-cluster-broker-0"))
        {
            Assert.True(Chains(leaf, ca.Certificate), "node certificates are issued by the user's CA");
        }

        var clientsCa = await SecretAsync(fixture, "my-cluster-clients-ca-cert");
        Assert.Null(clientsCa.Metadata.OwnerReferences);
        Assert.Null((await SecretAsync(fixture, "my-cluster-clients-ca")).Metadata.OwnerReferences);
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.WaitingForPodsReason) == true, "WaitingForPods");

        // The user's Secrets are read, never written.
        var cert = await fixture.Client.CoreV1.ReadNamespacedSecretAsync("my-cluster-cluster-ca-cert", Ns);
        Assert.Null(cert.Metadata.OwnerReferences);
        Assert.DoesNotContain(cert.Metadata.ManagedFields ?? [], f => f.Manager == "strimzi-cluster-operator");
    }

    [Fact]
    public async Task Reconcile_ForceRenewAnnotation_RenewsOnce_AndRemovesTheAnnotation()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));
        var before = await SecretAsync(fixture, "my-cluster-cluster-ca-cert");

        await fixture.Client.CoreV1.PatchNamespacedSecretAsync(
            new V1Patch("""{"metadata":{"annotations":{"strimzi.io/force-renew":"true"}}}""", V1Patch.PatchType.MergePatch), "my-cluster-cluster-ca-cert", Ns);

        var renewed = await SecretAsync(fixture, "my-cluster-cluster-ca-cert",
            s => s.Metadata.Annotations[CaSecrets.CaCertGeneration] == "1" && !s.Metadata.Annotations.ContainsKey(CaSecrets.ForceRenew));
        Assert.NotEqual(before.Data["ca.crt"], renewed.Data["ca.crt"]);
        await SecretAsync(fixture, "my-cluster-kafka-brokers", s => s.Metadata.Annotations[CaSecrets.ClusterCaCertGeneration] == "1");

        // Honoured once: the generation stays at 1 while the operator keeps reconciling (the pods are not Ready).
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(fixture.Operator.Caches.Secrets.TryGet(new ObjectKey(Ns, "my-cluster-cluster-ca-cert"), out var cached)
            && !cached.Metadata.Annotations.ContainsKey(CaSecrets.ForceRenew)), seen => seen, "the cache to see the annotation gone");
        await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None);
        Assert.Equal("1", (await fixture.Client.CoreV1.ReadNamespacedSecretAsync("my-cluster-cluster-ca-cert", Ns)).Metadata.Annotations[CaSecrets.CaCertGeneration]);
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_RenewalDaysNotBelowValidityDays_NotReadyNamingTheField()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var docs = OperatorFixture.Example("kafka/kafka-ephemeral.yaml");
        docs.Single(d => (string?)d["kind"] == "Kafka")["spec"]!["clientsCa"] = new JsonObject { ["validityDays"] = 30, ["renewalDays"] = 30 };
        await fixture.CreateAsync(docs);

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.InvalidResourceReason) == true, "NotReady InvalidResourceException");
        Assert.Contains("spec.clientsCa.renewalDays", Assert.Single(kafka.Status!.Conditions!).Message, StringComparison.Ordinal);
        Assert.Empty(await fixture.ListPodSetsAsync(Ns));
    }
}
