using Broker.Coordinators.Groups;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// JoinGroup (11): hands the join to the group coordinator and waits for the join phase to end (bounded by the
/// rebalance timeout). v4+ callers without a member id get MEMBER_ID_REQUIRED at once (KIP-394). Thread-safe.
/// </summary>
internal sealed class JoinGroupHandler : ApiHandler<JoinGroupRequest, JoinGroupResponse>
{
    private readonly BrokerServices _services;

    public JoinGroupHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 11;

    public override short MinVersion => 0;

    public override short MaxVersion => 9;

    protected override async ValueTask<JoinGroupResponse?> HandleAsync(RequestContext context, JoinGroupRequest request, CancellationToken cancellationToken)
    {
        var protocols = new List<GroupProtocol>(request.Protocols.Count);
        foreach (var protocol in request.Protocols)
        {
            protocols.Add(new GroupProtocol(protocol.Name, protocol.Metadata.ToArray()));
        }

        var call = new JoinGroupCall(
            request.GroupId,
            request.MemberId,
            request.GroupInstanceId,
            context.ClientId ?? "",
            ClientHost.Of(context),
            request.SessionTimeoutMs,
            context.ApiVersion == 0 ? request.SessionTimeoutMs : request.RebalanceTimeoutMs,
            request.ProtocolType,
            protocols,
            RequireKnownMemberId: context.ApiVersion >= 4);
        var result = await _services.Groups.JoinGroupAsync(call, cancellationToken).ConfigureAwait(false);
        var response = new JoinGroupResponse
        {
            ErrorCode = (short)result.Error,
            GenerationId = result.GenerationId,
            ProtocolType = context.ApiVersion >= 7 ? result.ProtocolType : null,
            ProtocolName = context.ApiVersion >= 7 ? result.ProtocolName : result.ProtocolName ?? "",
            Leader = result.Leader,
            SkipAssignment = context.ApiVersion >= 9 && result.SkipAssignment,
            MemberId = result.MemberId,
        };
        foreach (var member in result.Members)
        {
            response.Members.Add(new JoinGroupResponse.JoinGroupResponseMember
            {
                MemberId = member.MemberId,
                GroupInstanceId = context.ApiVersion >= 5 ? member.GroupInstanceId : null,
                Metadata = member.Metadata,
            });
        }

        return response;
    }
}

/// <summary>The client host Kafka records for a member ("/address"). Stateless; thread-safe.</summary>
internal static class ClientHost
{
    public static string Of(RequestContext context) => context.Remote is System.Net.IPEndPoint ip ? "/" + ip.Address : "/" + (context.Remote?.ToString() ?? "unknown");
}
