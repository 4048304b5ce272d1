using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>OffsetDelete (47): deletes committed offsets of partitions the group no longer consumes. Thread-safe.</summary>
internal sealed class OffsetDeleteHandler : ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse>
{
    private readonly BrokerServices _services;

    public OffsetDeleteHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 47;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<OffsetDeleteResponse?> HandleAsync(RequestContext context, OffsetDeleteRequest request, CancellationToken cancellationToken)
    {
        var partitions = new List<(string, int)>();
        foreach (var topic in request.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                partitions.Add((topic.Name, partition.PartitionIndex));
            }
        }

        var errors = new List<ErrorCode>(partitions.Count);
        var response = new OffsetDeleteResponse { ErrorCode = (short)_services.Groups.DeleteOffsets(request.GroupId, partitions, errors) };
        if (response.ErrorCode != 0)
        {
            return ValueTask.FromResult<OffsetDeleteResponse?>(response);
        }

        var i = 0;
        foreach (var topic in request.Topics)
        {
            var result = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = topic.Name };
            foreach (var partition in topic.Partitions)
            {
                result.Partitions.Add(new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = partition.PartitionIndex, ErrorCode = (short)errors[i++] });
            }

            response.Topics.Add(result);
        }

        return ValueTask.FromResult<OffsetDeleteResponse?>(response);
    }
}
