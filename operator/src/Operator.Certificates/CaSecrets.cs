using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s.Models;
using Operator.Api;

namespace Operator.Certificates;

/// <summary>Where the Secrets go and whom they belong to. Immutable; thread-safe.</summary>
/// <param name="Cluster">The Kafka's name.</param>
/// <param name="Namespace">The Kafka's namespace.</param>
/// <param name="Owner">The Kafka owner reference (<c>KafkaClusterModel.OwnerReference</c>); null for none
/// (CA Secrets with <c>generateSecretOwnerReference: false</c>).</param>
/// <param name="KafkaLabels">The Kafka CR's labels, inherited as the model does.</param>
public sealed record SecretContext(string Cluster, string Namespace, V1OwnerReference? Owner,
    IDictionary<string, string>? KafkaLabels = null);

/// <summary>One node's certificate in the brokers Secret. Immutable; thread-safe.</summary>
public sealed record NodeCertificate(string PodName, IssuedCertificate Certificate, string Password);

/// <summary>
/// Strimzi's certificate Secrets as pure builders (CaReconciler, KafkaCluster, ClusterOperator certs).
/// The PKCS#12 passwords are inputs: a reconcile reuses the stored one, so only new certificates change the data.
/// Stateless; thread-safe.
/// </summary>
public static class CaSecrets
{
    public const string CertKey = "ca.crt";
    public const string KeyKey = "ca.key";
    public const string P12Key = "ca.p12";
    public const string PasswordKey = "ca.password";

    public const string CaCertGeneration = "strimzi.io/ca-cert-generation";
    public const string CaKeyGeneration = "strimzi.io/ca-key-generation";
    public const string ClusterCaCertGeneration = "strimzi.io/cluster-ca-cert-generation";
    public const string ClusterCaKeyGeneration = "strimzi.io/cluster-ca-key-generation";
    public const string ClientsCaCertGeneration = "strimzi.io/clients-ca-cert-generation";
    public const string ForceRenew = "strimzi.io/force-renew";
    public const string ForceReplace = "strimzi.io/force-replace";

    public static string KeySecretName(string cluster, CaKind kind) => cluster + (kind == CaKind.Cluster ? "-cluster-ca" : "-clients-ca");

    public static string CertSecretName(string cluster, CaKind kind) => KeySecretName(cluster, kind) + "-cert";

    public static string BrokersSecretName(string cluster) => cluster + "-kafka-brokers";

    public static string ClusterOperatorSecretName(string cluster) => cluster + "-cluster-operator-certs";

    public static string TopicOperatorSecretName(string cluster) => cluster + "-entity-topic-operator-certs";

    public static string UserOperatorSecretName(string cluster) => cluster + "-entity-user-operator-certs";

    /// <summary>Labels of the CA Secrets (Strimzi's CaProvider): name <c>strimzi</c>, component type <c>certificate-authority</c>.</summary>
    public static ImmutableSortedDictionary<string, string> CaLabels(SecretContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var builder = Operator.Model.Labels.FromCustomResource(context.KafkaLabels).ToBuilder();
        builder[StrimziLabels.Cluster] = context.Cluster;
        builder[StrimziLabels.Kind] = "Kafka";
        builder[StrimziLabels.Name] = "strimzi";
        builder[StrimziLabels.ComponentType] = "certificate-authority";
        return builder.ToImmutable();
    }

    /// <summary>
    /// <c>&lt;cluster&gt;-cluster-ca-cert</c> / <c>-clients-ca-cert</c>: <c>ca.crt</c> (PEM), <c>ca.p12</c> (truststore of the
    /// current and previous certificates), <c>ca.password</c>, and <c>ca-&lt;notAfter&gt;.crt</c> per previous certificate.
    /// </summary>
    public static V1Secret CertSecret(SecretContext context, CertificateAuthority ca, string p12Password)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentException.ThrowIfNullOrEmpty(p12Password);
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [CertKey] = Ascii(ca.Certificate.ExportCertificatePem() + "\n"),
            [P12Key] = Pkcs12.TrustStore(ca.PreviousCertificates.Prepend(ca.Certificate), p12Password),
            [PasswordKey] = Ascii(p12Password),
        };
        foreach (var previous in ca.PreviousCertificates)
        {
            data[PreviousCertKey(previous)] = Ascii(previous.ExportCertificatePem() + "\n");
        }

        return Secret(context, CertSecretName(context.Cluster, ca.Kind), CaLabels(context),
            new Dictionary<string, string> { [CaCertGeneration] = Int(ca.CertGeneration) }, data);
    }

    /// <summary><c>&lt;cluster&gt;-cluster-ca</c> / <c>-clients-ca</c>: <c>ca.key</c> (PKCS#8 PEM).</summary>
    public static V1Secret KeySecret(SecretContext context, CertificateAuthority ca)
    {
        ArgumentNullException.ThrowIfNull(ca);
        using var key = ca.Certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("the CA has no RSA private key");
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal) { [KeyKey] = Ascii(key.ExportPkcs8PrivateKeyPem() + "\n") };
        return Secret(context, KeySecretName(context.Cluster, ca.Kind), CaLabels(context),
            new Dictionary<string, string> { [CaKeyGeneration] = Int(ca.KeyGeneration) }, data);
    }

    /// <summary>
    /// <c>&lt;cluster&gt;-kafka-brokers</c> (Strimzi before 0.46): per node <c>&lt;pod&gt;.crt</c> (leaf + CA chain),
    /// <c>.key</c>, <c>.p12</c>, <c>.password</c>; the cluster labels and the cluster CA generations.
    /// </summary>
    public static V1Secret BrokersSecret(SecretContext context, CertificateAuthority clusterCa, IEnumerable<NodeCertificate> nodes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(nodes);
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            AddKeyPair(data, node.PodName, node.Certificate, node.Password);
        }

        return Secret(context, BrokersSecretName(context.Cluster), Operator.Model.Labels.Cluster(context.Cluster, context.KafkaLabels),
            ClusterCaGenerations(clusterCa), data);
    }

    /// <summary>One node's Secret, named as the pod (Strimzi since 0.46): <c>&lt;pod&gt;.crt</c> and <c>&lt;pod&gt;.key</c>.</summary>
    public static V1Secret NodeSecret(SecretContext context, CertificateAuthority clusterCa, NodeCertificate node)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [node.PodName + ".crt"] = Ascii(node.Certificate.ChainPem),
            [node.PodName + ".key"] = Ascii(node.Certificate.KeyPem),
        };
        return Secret(context, node.PodName, Operator.Model.Labels.Cluster(context.Cluster, context.KafkaLabels),
            ClusterCaGenerations(clusterCa), data);
    }

    /// <summary>
    /// <c>&lt;cluster&gt;-cluster-operator-certs</c>: <c>cluster-operator.crt/.key/.p12/.password</c> of the
    /// <c>CN=cluster-operator</c> client certificate.
    /// </summary>
    public static V1Secret ClusterOperatorSecret(SecretContext context, CertificateAuthority clusterCa, IssuedCertificate certificate,
        string p12Password)
    {
        ArgumentNullException.ThrowIfNull(context);
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        AddKeyPair(data, "cluster-operator", certificate, p12Password);
        return Secret(context, ClusterOperatorSecretName(context.Cluster), Operator.Model.Labels.Cluster(context.Cluster, context.KafkaLabels),
            ClusterCaGenerations(clusterCa), data);
    }

    /// <summary>
    /// <c>&lt;cluster&gt;-entity-topic-operator-certs</c> or <c>-entity-user-operator-certs</c>: <c>entity-operator.crt/.key</c>,
    /// labelled as the entity operator's objects (name <c>&lt;cluster&gt;-entity-operator</c>).
    /// </summary>
    public static V1Secret EntityOperatorSecret(SecretContext context, CertificateAuthority clusterCa, IssuedCertificate certificate,
        bool topicOperator)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(certificate);
        var labels = Operator.Model.Labels.Cluster(context.Cluster, context.KafkaLabels).ToBuilder();
        labels[StrimziLabels.Name] = context.Cluster + "-entity-operator";
        labels[StrimziLabels.ComponentType] = "entity-operator";
        labels[StrimziLabels.AppName] = "entity-operator";
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["entity-operator.crt"] = Ascii(certificate.ChainPem),
            ["entity-operator.key"] = Ascii(certificate.KeyPem),
        };
        return Secret(context,
            topicOperator ? TopicOperatorSecretName(context.Cluster) : UserOperatorSecretName(context.Cluster),
            labels.ToImmutable(), ClusterCaGenerations(clusterCa), data);
    }

    /// <summary>Reads a generation annotation; a missing or unparsable one counts as 0, as in Strimzi.</summary>
    public static int Generation(V1Secret? secret, string annotation) =>
        secret?.Metadata?.Annotations is { } annotations && annotations.TryGetValue(annotation, out var text)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : 0;

    /// <summary>The data key of a previous CA certificate: <c>ca-&lt;notAfter yyyy-MM-ddTHH-mm-ssZ&gt;.crt</c>.</summary>
    public static string PreviousCertKey(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return "ca-" + certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd'T'HH-mm-ss'Z'", CultureInfo.InvariantCulture) + ".crt";
    }

    private static Dictionary<string, string> ClusterCaGenerations(CertificateAuthority clusterCa)
    {
        ArgumentNullException.ThrowIfNull(clusterCa);
        return new()
        {
            [ClusterCaCertGeneration] = Int(clusterCa.CertGeneration),
            [ClusterCaKeyGeneration] = Int(clusterCa.KeyGeneration),
        };
    }

    private static void AddKeyPair(SortedDictionary<string, byte[]> data, string name, IssuedCertificate certificate, string password)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentException.ThrowIfNullOrEmpty(password);
        data[name + ".crt"] = Ascii(certificate.ChainPem);
        data[name + ".key"] = Ascii(certificate.KeyPem);
        data[name + ".p12"] = certificate.ToPkcs12(password);
        data[name + ".password"] = Ascii(password);
    }

    private static V1Secret Secret(SecretContext context, string name, IDictionary<string, string> labels,
        IDictionary<string, string> annotations, SortedDictionary<string, byte[]> data) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Type = "Opaque",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = context.Namespace,
            Labels = new SortedDictionary<string, string>(labels, StringComparer.Ordinal),
            Annotations = new SortedDictionary<string, string>(annotations, StringComparer.Ordinal),
            OwnerReferences = context.Owner is { } owner ? [owner] : null,
        },
        Data = data,
    };

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
