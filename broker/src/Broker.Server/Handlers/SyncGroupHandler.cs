using Broker.Coordinators.Groups;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>SyncGroup (14): the leader hands in assignments, every member waits for its own. Thread-safe.</summary>
internal sealed class SyncGroupHandler : ApiHandler<SyncGroupRequest, SyncGroupResponse>
{
    private readonly BrokerServices _services;

    public SyncGroupHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 14;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override async ValueTask<SyncGroupResponse?> HandleAsync(RequestContext context, SyncGroupRequest request, CancellationToken cancellationToken)
    {
        var assignments = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var assignment in request.Assignments)
        {
            assignments[assignment.MemberId] = assignment.Assignment.ToArray();
        }

        var call = new SyncGroupCall(request.GroupId, request.GenerationId, request.MemberId, request.GroupInstanceId,
            request.ProtocolType, request.ProtocolName, assignments);
        var result = await _services.Groups.SyncGroupAsync(call, cancellationToken).ConfigureAwait(false);
        return new SyncGroupResponse
        {
            ErrorCode = (short)result.Error,
            ProtocolType = context.ApiVersion >= 5 ? result.ProtocolType : null,
            ProtocolName = context.ApiVersion >= 5 ? result.ProtocolName : null,
            Assignment = result.Assignment,
        };
    }
}
