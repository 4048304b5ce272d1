using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;

namespace Operator.Kube;

/// <summary>Lease-based leader election settings (Strimzi's STRIMZI_LEADER_ELECTION_* variables). Immutable.</summary>
public sealed record LeaderElectionOptions(string Namespace, string LeaseName, string Identity)
{
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Runs work only while this instance holds a coordination.k8s.io Lease, so two operator replicas never reconcile at
/// once: the work gets a token cancelled the moment leadership is lost, and the instance then competes again.
/// Thread-safe.
/// </summary>
public sealed partial class LeaderElection
{
    private readonly IKubernetes _client;
    private readonly LeaderElectionOptions _options;
    private readonly ILogger _logger;
    private volatile bool _isLeader;

    public LeaderElection(IKubernetes client, LeaderElectionOptions options, ILogger logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
    }

    /// <summary>Whether this instance leads right now.</summary>
    public bool IsLeader
    {
        get => _isLeader;
        private set => _isLeader = value;
    }

    /// <summary>Competes for the lease until cancelled; runs <paramref name="whileLeading"/> each time it is won.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> whileLeading, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var elector = new LeaderElector(new LeaderElectionConfig(new LeaseLock(_client, _options.Namespace, _options.LeaseName, _options.Identity))
            {
                LeaseDuration = _options.LeaseDuration,
                RenewDeadline = _options.RenewDeadline,
                RetryPeriod = _options.RetryPeriod,
            });
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task? work = null;
            elector.OnStartedLeading += () =>
            {
                IsLeader = true;
                LogLeading(_logger, _options.Identity, _options.LeaseName);
                work = Task.Run(() => whileLeading(leading.Token), CancellationToken.None);
            };
            elector.OnStoppedLeading += () =>
            {
                IsLeader = false;
                LogStopped(_logger, _options.Identity, _options.LeaseName);
                leading.Cancel();
            };

            try
            {
                await elector.RunUntilLeadershipLostAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping.
            }
            finally
            {
                IsLeader = false;
                await leading.CancelAsync().ConfigureAwait(false);
                if (work is not null)
                {
                    await work.ConfigureAwait(false);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} leads (lease {Lease})")]
    private static partial void LogLeading(ILogger logger, string identity, string lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Identity} lost the lease {Lease}")]
    private static partial void LogStopped(ILogger logger, string identity, string lease);
}
