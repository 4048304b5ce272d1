using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// BrokerRegistration (62), a controller-listener API: registers a broker process and returns its broker epoch.
/// Built on the controller's <see cref="BrokerLifecycle"/> rather than the broker's services, so a controller listener
/// can serve it. Thread-safe.
/// </summary>
internal sealed class BrokerRegistrationHandler : ApiHandler<BrokerRegistrationRequest, BrokerRegistrationResponse>
{
    private readonly BrokerLifecycle _lifecycle;

    public BrokerRegistrationHandler(BrokerLifecycle lifecycle)
    {
        _lifecycle = lifecycle;
    }

    public override short ApiKey => 62;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override async ValueTask<BrokerRegistrationResponse?> HandleAsync(RequestContext context, BrokerRegistrationRequest request, CancellationToken cancellationToken)
    {
        var endpoints = new List<BrokerEndpoint>(request.Listeners.Count);
        foreach (var listener in request.Listeners)
        {
            endpoints.Add(new BrokerEndpoint(listener.Name, listener.Host, listener.Port, listener.SecurityProtocol));
        }

        var features = new List<(string, short, short)>(request.Features.Count);
        foreach (var feature in request.Features)
        {
            features.Add((feature.Name, feature.MinSupportedVersion, feature.MaxSupportedVersion));
        }

        BrokerRegistrationResult result;
        try
        {
            result = await _lifecycle.RegisterAsync(
                new BrokerRegistrationRequestInfo(request.BrokerId, request.ClusterId, request.IncarnationId, endpoints, features, request.Rack),
                cancellationToken).ConfigureAwait(false);
        }
        catch (NotLeaderException)
        {
            // This node stopped leading the quorum (KRaft): the broker retries at the new controller.
            return new BrokerRegistrationResponse { ErrorCode = (short)ErrorCode.NotController, BrokerEpoch = -1 };
        }

        return new BrokerRegistrationResponse
        {
            ErrorCode = (short)result.Error,
            BrokerEpoch = result.Error == ErrorCode.None ? result.BrokerEpoch : -1,
        };
    }
}
