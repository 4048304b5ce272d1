using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// ListPartitionReassignments (46): ongoing reassignments. None can exist (there is no AlterPartitionReassignments and
/// one node), so the list is empty; as in Kafka's KRaft controller, named topics or partitions that do not exist are
/// skipped rather than reported. Thread-safe.
/// </summary>
internal sealed class ListPartitionReassignmentsHandler : ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>
{
    public override short ApiKey => 46;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<ListPartitionReassignmentsResponse?> HandleAsync(
        RequestContext context, ListPartitionReassignmentsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ListPartitionReassignmentsResponse?>(new ListPartitionReassignmentsResponse { ErrorMessage = null });
}
