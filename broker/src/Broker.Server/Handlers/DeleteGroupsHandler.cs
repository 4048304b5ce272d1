using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>DeleteGroups (42): removes Empty groups and their offsets; others get NON_EMPTY_GROUP or GROUP_ID_NOT_FOUND. Thread-safe.</summary>
internal sealed class DeleteGroupsHandler : ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse>
{
    private readonly BrokerServices _services;

    public DeleteGroupsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 42;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override ValueTask<DeleteGroupsResponse?> HandleAsync(RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken)
    {
        var response = new DeleteGroupsResponse();
        foreach (var groupId in request.GroupsNames)
        {
            response.Results.Add(new DeleteGroupsResponse.DeletableGroupResult
            {
                GroupId = groupId,
                ErrorCode = (short)_services.Groups.DeleteGroup(groupId),
            });
        }

        return ValueTask.FromResult<DeleteGroupsResponse?>(response);
    }
}
