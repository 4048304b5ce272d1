using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// DescribeCluster (60): cluster id, controller and the brokers' endpoints on the client's listener. A broker
/// listener serves endpoint type 1 (brokers); a controller listener serves type 2 (the voters' endpoints, the quorum
/// leader as controller); the other type is MISMATCHED_ENDPOINT_TYPE, as in Kafka (KIP-919). Thread-safe.
/// </summary>
internal sealed class DescribeClusterHandler : ApiHandler<DescribeClusterRequest, DescribeClusterResponse>
{
    private const sbyte BrokerEndpoints = 1;
    private const sbyte ControllerEndpoints = 2;

    private readonly BrokerServices _services;

    public DescribeClusterHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 60;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override ValueTask<DescribeClusterResponse?> HandleAsync(RequestContext context, DescribeClusterRequest request, CancellationToken cancellationToken)
    {
        var image = _services.Metadata.Image;
        var response = new DescribeClusterResponse
        {
            ClusterId = image.ClusterId,
            ControllerId = _services.ControllerId,
            EndpointType = context.ApiVersion >= 1 ? request.EndpointType : BrokerEndpoints,
            ClusterAuthorizedOperations = request.IncludeClusterAuthorizedOperations ? AuthorizedOperations.AllOnCluster : AuthorizedOperations.NotRequested,
        };
        if (context.ListenerKind == ApiListeners.Controller)
        {
            return ValueTask.FromResult<DescribeClusterResponse?>(DescribeControllers(context, request, response));
        }

        if (context.ApiVersion >= 1 && request.EndpointType != BrokerEndpoints)
        {
            var error = request.EndpointType == ControllerEndpoints ? ErrorCode.MismatchedEndpointType : ErrorCode.UnsupportedEndpointType;
            response.ErrorCode = (short)error;
            response.ErrorMessage = error == ErrorCode.MismatchedEndpointType
                ? "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                : $"Unsupported endpoint type {request.EndpointType}";
            return ValueTask.FromResult<DescribeClusterResponse?>(response);
        }

        foreach (var broker in image.Brokers.Values)
        {
            if (!broker.Fenced && broker.EndpointFor(context.ListenerName) is { } endpoint)
            {
                response.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker
                {
                    BrokerId = broker.NodeId,
                    Host = endpoint.Host,
                    Port = endpoint.Port,
                    Rack = broker.Rack,
                });
            }
        }

        return ValueTask.FromResult<DescribeClusterResponse?>(response);
    }

    // KIP-919 (Admin bootstrap.controllers): a controller listener answers with the controllers, and the quorum leader as
    // the controller; it refuses the brokers' endpoint type.
    private DescribeClusterResponse DescribeControllers(RequestContext context, DescribeClusterRequest request, DescribeClusterResponse response)
    {
        var wanted = context.ApiVersion >= 1 ? request.EndpointType : BrokerEndpoints;
        if (wanted != ControllerEndpoints)
        {
            var error = wanted == BrokerEndpoints ? ErrorCode.MismatchedEndpointType : ErrorCode.UnsupportedEndpointType;
            response.ErrorCode = (short)error;
            response.ErrorMessage = error == ErrorCode.MismatchedEndpointType
                ? "The request was sent to an endpoint of type CONTROLLER, but we wanted an endpoint of type BROKER"
                : $"Unsupported endpoint type {wanted}";
            return response;
        }

        response.EndpointType = ControllerEndpoints;
        var voters = _services.Quorum?.Config.Voters ?? [];
        response.ControllerId = _services.Quorum is { LeaderId: >= 0 and var leader } ? leader : -1;
        foreach (var voter in voters)
        {
            response.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker { BrokerId = voter.Id, Host = voter.Host, Port = voter.Port });
        }

        return response;
    }
}
