using Broker.Coordinators.Groups;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>DescribeGroups (15): state, protocol and members of each named group. Thread-safe.</summary>
internal sealed class DescribeGroupsHandler : ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse>
{
    private readonly BrokerServices _services;

    public DescribeGroupsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 15;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override ValueTask<DescribeGroupsResponse?> HandleAsync(RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeGroupsResponse();
        foreach (var groupId in request.Groups)
        {
            var group = _services.Groups.DescribeGroup(groupId);
            var described = new DescribeGroupsResponse.DescribedGroup
            {
                ErrorCode = (short)group.Error,
                GroupId = groupId,
                GroupState = GroupStateNames.Name(group.State),
                ProtocolType = group.ProtocolType,
                ProtocolData = group.ProtocolData,
            };
            foreach (var member in group.Members)
            {
                described.Members.Add(new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = member.MemberId,
                    GroupInstanceId = context.ApiVersion >= 4 ? member.GroupInstanceId : null,
                    ClientId = member.ClientId,
                    ClientHost = member.ClientHost,
                    MemberMetadata = member.Metadata,
                    MemberAssignment = member.Assignment,
                });
            }

            response.Groups.Add(described);
        }

        return ValueTask.FromResult<DescribeGroupsResponse?>(response);
    }
}
