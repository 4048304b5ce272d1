using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s.Models;
using Operator.Api;
using Operator.Certificates;
using Operator.Kube;
using Operator.Model;
using ApiCa = Operator.Api.CertificateAuthority;
using CertificateAuthority = Operator.Certificates.CertificateAuthority;

namespace Operator.Reconcilers;

/// <summary>A certificate Secret the configuration needs is missing (Strimzi's exception of that name). Immutable.</summary>
public sealed class NoCertificateSecretException : Exception
{
    public NoCertificateSecretException()
    {
    }

    public NoCertificateSecretException(string message)
        : base(message)
    {
    }

    public NoCertificateSecretException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>The cluster's two CAs for one reconcile, which owns this (and disposes it, releasing both keys).</summary>
internal sealed class ClusterCas(CertificateAuthority clusterCa, CertificateAuthority clientsCa, CaSettings clusterSettings) : IDisposable
{
    public CertificateAuthority ClusterCa { get; } = clusterCa;

    public CertificateAuthority ClientsCa { get; } = clientsCa;

    /// <summary>Validity and renewal of the leaf certificates the cluster CA issues (Strimzi uses the CA's settings).</summary>
    public CaSettings ClusterSettings { get; } = clusterSettings;

    public CaGenerations Generations => new(ClusterCa.CertGeneration, ClusterCa.KeyGeneration, ClientsCa.CertGeneration);

    public void Dispose()
    {
        ClusterCa.Dispose();
        ClientsCa.Dispose();
    }
}

/// <summary>
/// The certificates step of the Kafka reconcile (Strimzi's CaReconciler and the node certificate part of its
/// KafkaReconciler): the cluster and clients CA Secrets, the brokers Secret with one key pair per node and the cluster
/// operator's client certificate Secret. Reads the Secrets from the informer cache, writes through the
/// <see cref="Applier"/>, and when nothing is due returns the cached Secrets, so nothing is written. Thread-safe
/// (stateless besides its injected dependencies; the controller runs one Kafka on one worker).
/// </summary>
internal sealed class CertificatesStep
{
    private readonly ClusterCaches _caches;
    private readonly Applier _applier;
    private readonly TimeProvider _time;
    private readonly CertificateOptions _options;

    public CertificatesStep(ClusterCaches caches, Applier applier, TimeProvider time, CertificateOptions options)
    {
        _caches = caches;
        _applier = applier;
        _time = time;
        _options = options;
    }

    /// <summary>
    /// Creates, renews or loads both CAs. CA Secrets carry the Kafka as owner only with
    /// <c>generateSecretOwnerReference</c> (default true); with <c>generateCertificateAuthority: false</c> the user's
    /// Secrets are read and never written, and a missing one is a <see cref="NoCertificateSecretException"/>.
    /// </summary>
    public async Task<ClusterCas> ReconcileCasAsync(Kafka kafka, V1OwnerReference owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        var clusterSettings = Settings(kafka.Spec?.ClusterCa);
        var clientsSettings = Settings(kafka.Spec?.ClientsCa);
        var cluster = await ReconcileCaAsync(kafka, owner, CaKind.Cluster, kafka.Spec?.ClusterCa, clusterSettings, cancellationToken).ConfigureAwait(false);
        try
        {
            var clients = await ReconcileCaAsync(kafka, owner, CaKind.Clients, kafka.Spec?.ClientsCa, clientsSettings, cancellationToken).ConfigureAwait(false);
            return new ClusterCas(cluster, clients, clusterSettings);
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <c>&lt;cluster&gt;-kafka-brokers</c> (per node <c>&lt;pod&gt;.crt/.key/.p12/.password</c>) and
    /// <c>&lt;cluster&gt;-cluster-operator-certs</c>. A key pair is reissued when it is missing, not signed by the current
    /// cluster CA key, carries other SANs, is inside its renewal window, or the cluster CA certificate or key generation
    /// changed (as Strimzi, which reissues server certificates with every new CA certificate); others keep their bytes.
    /// </summary>
    public async Task ReconcileNodeCertificatesAsync(Kafka kafka, KafkaClusterModel model, ClusterCas cas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(cas);
        var context = new SecretContext(model.Name, model.Namespace, model.OwnerReference, kafka.Metadata.Labels);
        var nodes = model.Nodes.Select(n => (Name: n.Pool.PodName(model.Name, n.NodeId), Sans: CertificateNames.KafkaNodeSans(
            model.Name, model.Namespace, n.Pool.PodName(model.Name, n.NodeId), n.Pool.IsBroker, null, _options.ClusterDomain))).ToList();
        var brokers = Desired(model.Namespace, CaSecrets.BrokersSecretName(model.Name), cas, nodes.Select(n => (n.Name, CertificateNames.KafkaNodeCommonName(model.Name), n.Sans)),
            issued => CaSecrets.BrokersSecret(context, cas.ClusterCa, issued));
        await _applier.ApplyAsync(brokers, Cached(model.Namespace, brokers.Metadata.Name), cancellationToken).ConfigureAwait(false);

        var operatorSecret = Desired(model.Namespace, CaSecrets.ClusterOperatorSecretName(model.Name), cas,
            [("cluster-operator", CertificateNames.ClusterOperatorCommonName, [])],
            issued => CaSecrets.ClusterOperatorSecret(context, cas.ClusterCa, issued[0].Certificate, issued[0].Password));
        await _applier.ApplyAsync(operatorSecret, Cached(model.Namespace, operatorSecret.Metadata.Name), cancellationToken).ConfigureAwait(false);
    }

    private async Task<CertificateAuthority> ReconcileCaAsync(Kafka kafka, V1OwnerReference owner, CaKind kind, ApiCa? spec, CaSettings settings,
        CancellationToken cancellationToken)
    {
        var name = kafka.Metadata.Name;
        var certSecret = Cached(kafka.Metadata.NamespaceProperty, CaSecrets.CertSecretName(name, kind));
        var keySecret = Cached(kafka.Metadata.NamespaceProperty, CaSecrets.KeySecretName(name, kind));
        if (spec?.GenerateCertificateAuthority == false)
        {
            return LoadCustom(kind, certSecret, keySecret);
        }

        var context = new SecretContext(name, kafka.Metadata.NamespaceProperty, spec?.GenerateSecretOwnerReference == false ? null : owner,
            kafka.Metadata.Labels);
        var result = CaLifecycle.Reconcile(kind, context, certSecret, keySecret, settings, _time, _options);
        await _applier.ApplyAsync(result.KeySecret, keySecret, cancellationToken).ConfigureAwait(false);
        await _applier.ApplyAsync(result.CertSecret, certSecret, cancellationToken).ConfigureAwait(false);

        // The requests are honoured: clear them, or every reconcile would renew again (the user's annotation is not
        // the operator's field, so the apply above kept it).
        if (result.Action != CaAction.None && certSecret?.Metadata.Annotations?.ContainsKey(CaSecrets.ForceRenew) == true)
        {
            await _applier.PatchAnnotationsAsync<V1Secret>(certSecret.Metadata.NamespaceProperty, certSecret.Metadata.Name,
                new Dictionary<string, string?> { [CaSecrets.ForceRenew] = null }, cancellationToken).ConfigureAwait(false);
        }

        if (result.Action == CaAction.ReplaceKey && keySecret?.Metadata.Annotations?.ContainsKey(CaSecrets.ForceReplace) == true)
        {
            await _applier.PatchAnnotationsAsync<V1Secret>(keySecret.Metadata.NamespaceProperty, keySecret.Metadata.Name,
                new Dictionary<string, string?> { [CaSecrets.ForceReplace] = null }, cancellationToken).ConfigureAwait(false);
        }

        return result.Ca;
    }

    private static CertificateAuthority LoadCustom(CaKind kind, V1Secret? certSecret, V1Secret? keySecret)
    {
        var label = kind == CaKind.Cluster ? "Cluster" : "Clients";
        if (certSecret?.Data?.ContainsKey(CaSecrets.CertKey) != true)
        {
            throw new NoCertificateSecretException($"The {label} CA Cert Secret is missing");
        }

        if (keySecret?.Data?.ContainsKey(CaSecrets.KeyKey) != true)
        {
            throw new NoCertificateSecretException($"The {label} CA Key Secret is missing");
        }

        return CertificateAuthority.Load(kind, certSecret.Data, keySecret.Data,
            CaSecrets.Generation(certSecret, CaSecrets.CaCertGeneration), CaSecrets.Generation(keySecret, CaSecrets.CaKeyGeneration));
    }

    /// <summary>
    /// The desired Secret of key pairs: the cached one when every pair still holds, else one built with the pairs that
    /// must be (re)issued (never empty then), plus the stored bytes of those that need not.
    /// </summary>
    private V1Secret Desired(string ns, string secretName, ClusterCas cas, IEnumerable<(string Name, string CommonName, IReadOnlyList<string> Sans)> pairs,
        Func<List<NodeCertificate>, V1Secret> build)
    {
        var cached = Cached(ns, secretName);
        var sameCa = CaSecrets.Generation(cached, CaSecrets.ClusterCaCertGeneration) == cas.ClusterCa.CertGeneration
            && CaSecrets.Generation(cached, CaSecrets.ClusterCaKeyGeneration) == cas.ClusterCa.KeyGeneration;
        var now = _time.GetUtcNow();
        var reissue = new List<NodeCertificate>();
        var keep = new List<string>();
        try
        {
            foreach (var (name, commonName, sans) in pairs)
            {
                if (sameCa && cached is not null && StillValid(cached, name, cas, sans, now))
                {
                    keep.Add(name);
                    continue;
                }

                var password = cached?.Data?.TryGetValue(name + ".password", out var stored) == true && stored is { Length: > 0 }
                    ? Encoding.ASCII.GetString(stored)
                    : NewPassword();
                reissue.Add(new NodeCertificate(name, cas.ClusterCa.Issue(commonName, sans, cas.ClusterSettings.ValidityDays, _time, _options), password));
            }

            // Nothing to issue: the cached Secret stands. A removed node's pair stays in it until the next issue, when the
            // apply (without that pair) drops it; the applier sends nothing for a desired Secret the current one contains.
            if (reissue.Count == 0 && cached is not null)
            {
                return cached;
            }

            var secret = build(reissue);
            foreach (var name in keep)
            {
                foreach (var suffix in KeyPairSuffixes)
                {
                    secret.Data[name + suffix] = cached!.Data[name + suffix];
                }
            }

            return secret;
        }
        finally
        {
            foreach (var node in reissue)
            {
                node.Certificate.Dispose();
            }
        }
    }

    private static readonly string[] KeyPairSuffixes = [".crt", ".key", ".p12", ".password"];

    private bool StillValid(V1Secret cached, string name, ClusterCas cas, IReadOnlyList<string> sans, DateTimeOffset now)
    {
        if (cached.Data is not { } data || !KeyPairSuffixes.All(s => data.ContainsKey(name + s)))
        {
            return false;
        }

        // <name>.crt holds the leaf then the CA; CreateFromPem reads the first certificate.
        using var leaf = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(data[name + ".crt"]));
        return !Renewal.LeafNeedsReissue(leaf, cas.ClusterCa, sans.ToList(), now, cas.ClusterSettings.ValidityDays, cas.ClusterSettings.RenewalDays);
    }

    private string NewPassword() => _options.Passwords is { } generator ? generator() : Password.Generate(_options.Random, 32);

    private V1Secret? Cached(string ns, string name) => _caches.Secrets.TryGet(new ObjectKey(ns, name), out var secret) ? secret : null;

    /// <summary>Strimzi's defaults (365 / 30 days, renew-certificate); the model has checked renewal against validity.</summary>
    private static CaSettings Settings(ApiCa? spec) =>
        new(spec?.ValidityDays ?? 365, spec?.RenewalDays ?? 30,
            spec?.CertificateExpirationPolicy == "replace-key" ? CertificateExpirationPolicy.ReplaceKey : CertificateExpirationPolicy.RenewCertificate);
}
