using Broker.Coordinators.Groups;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>LeaveGroup (13): one member before v3, a batch of members (by member and/or instance id) from v3. Thread-safe.</summary>
internal sealed class LeaveGroupHandler : ApiHandler<LeaveGroupRequest, LeaveGroupResponse>
{
    private readonly BrokerServices _services;

    public LeaveGroupHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 13;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override ValueTask<LeaveGroupResponse?> HandleAsync(RequestContext context, LeaveGroupRequest request, CancellationToken cancellationToken)
    {
        var batched = context.ApiVersion >= 3;
        var members = new List<LeavingMember>();
        if (batched)
        {
            foreach (var member in request.Members)
            {
                members.Add(new LeavingMember(member.MemberId, member.GroupInstanceId));
            }
        }
        else
        {
            members.Add(new LeavingMember(request.MemberId, null));
        }

        var result = _services.Groups.LeaveGroup(request.GroupId, members);
        var response = new LeaveGroupResponse { ErrorCode = (short)result.Error };
        if (!batched)
        {
            if (result.Error == 0 && result.Members.Count == 1)
            {
                response.ErrorCode = (short)result.Members[0].Error;
            }

            return ValueTask.FromResult<LeaveGroupResponse?>(response);
        }

        foreach (var (member, error) in result.Members)
        {
            response.Members.Add(new LeaveGroupResponse.MemberResponse
            {
                MemberId = member.MemberId,
                GroupInstanceId = member.GroupInstanceId,
                ErrorCode = (short)error,
            });
        }

        return ValueTask.FromResult<LeaveGroupResponse?>(response);
    }
}
