using System.Globalization;
using Broker.Storage;

namespace Broker.Server.Observability;

/// <summary>Kafka's broker states (org.apache.kafka.metadata.BrokerState), with Kafka's numeric values.</summary>
public enum BrokerState : byte
{
    NotRunning = 0,
    Starting = 1,
    Recovery = 2,
    Running = 3,
    PendingControlledShutdown = 6,
    ShuttingDown = 7,
}

/// <summary>
/// The broker's lifecycle state as the health endpoint reports it: <c>/v1/broker-state</c> answers the JSON of
/// <see cref="ToJson"/> and <c>/v1/ready</c> is true only in <see cref="BrokerState.Running"/>. Log-loading progress
/// is included while the state is <see cref="BrokerState.Recovery"/>. Thread-safe: the host writes, HTTP handlers read.
/// </summary>
public sealed class BrokerStatus
{
    private int _state = (int)BrokerState.NotRunning;

    public BrokerStatus(LogRecoveryProgress recovery)
    {
        ArgumentNullException.ThrowIfNull(recovery);
        Recovery = recovery;
    }

    public BrokerState State => (BrokerState)Volatile.Read(ref _state);

    /// <summary>Progress of loading the logs at start-up.</summary>
    public LogRecoveryProgress Recovery { get; }

    /// <summary>True once the broker serves requests (<see cref="BrokerState.Running"/>).</summary>
    public bool IsReady => State == BrokerState.Running;

    public void Set(BrokerState state) => Volatile.Write(ref _state, (int)state);

    /// <summary>
    /// <c>{"brokerState":3}</c>, or while recovering
    /// <c>{"brokerState":2,"recoveryState":{"remainingLogsToRecover":N,"remainingSegmentsToRecover":M}}</c>, as
    /// Strimzi's Kafka agent reports it.
    /// </summary>
    public string ToJson()
    {
        var state = State;
        return state == BrokerState.Recovery
            ? string.Create(CultureInfo.InvariantCulture,
                $"{{\"brokerState\":{(int)state},\"recoveryState\":{{\"remainingLogsToRecover\":{Recovery.RemainingLogs},\"remainingSegmentsToRecover\":{Recovery.RemainingSegments}}}}}")
            : string.Create(CultureInfo.InvariantCulture, $"{{\"brokerState\":{(int)state}}}");
    }
}
