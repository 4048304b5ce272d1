using Broker.Coordinators.Groups;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>ListGroups (16): the groups this broker coordinates; state filter v4+, type filter v5+ (all groups are "classic"). Thread-safe.</summary>
internal sealed class ListGroupsHandler : ApiHandler<ListGroupsRequest, ListGroupsResponse>
{
    private readonly BrokerServices _services;

    public ListGroupsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 16;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override ValueTask<ListGroupsResponse?> HandleAsync(RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken)
    {
        var response = new ListGroupsResponse();
        var states = context.ApiVersion >= 4 ? request.StatesFilter : [];
        var types = context.ApiVersion >= 5 ? request.TypesFilter : [];
        foreach (var group in _services.Groups.ListGroups(states, types))
        {
            response.Groups.Add(new ListGroupsResponse.ListedGroup
            {
                GroupId = group.GroupId,
                ProtocolType = group.ProtocolType,
                GroupState = context.ApiVersion >= 4 ? GroupStateNames.Name(group.State) : "",
                GroupType = context.ApiVersion >= 5 ? "classic" : "",
            });
        }

        return ValueTask.FromResult<ListGroupsResponse?>(response);
    }
}
