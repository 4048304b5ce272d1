using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>Heartbeat (12): keeps a member's session alive and tells it when to rejoin. Thread-safe.</summary>
internal sealed class HeartbeatHandler : ApiHandler<HeartbeatRequest, HeartbeatResponse>
{
    private readonly BrokerServices _services;

    public HeartbeatHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 12;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override ValueTask<HeartbeatResponse?> HandleAsync(RequestContext context, HeartbeatRequest request, CancellationToken cancellationToken)
    {
        var error = _services.Groups.Heartbeat(request.GroupId, request.MemberId, request.GroupInstanceId, request.GenerationId);
        return ValueTask.FromResult<HeartbeatResponse?>(new HeartbeatResponse { ErrorCode = (short)error });
    }
}
