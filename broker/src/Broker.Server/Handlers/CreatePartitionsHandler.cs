using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>CreatePartitions (37): grows topics to a new total partition count. Thread-safe.</summary>
internal sealed class CreatePartitionsHandler : ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse>
{
    private readonly BrokerServices _services;

    public CreatePartitionsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 37;

    public override short MinVersion => 0;

    public override short MaxVersion => 3;

    protected override async ValueTask<CreatePartitionsResponse?> HandleAsync(RequestContext context, CreatePartitionsRequest request, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var topic in request.Topics)
        {
            if (!seen.Add(topic.Name))
            {
                duplicates.Add(topic.Name);
            }
        }

        var requests = new List<NewPartitions>(request.Topics.Count);
        foreach (var topic in request.Topics)
        {
            if (duplicates.Contains(topic.Name))
            {
                continue;
            }

            List<IReadOnlyList<int>>? assignments = null;
            if (topic.Assignments is { } given)
            {
                assignments = new List<IReadOnlyList<int>>(given.Count);
                foreach (var assignment in given)
                {
                    assignments.Add(assignment.BrokerIds);
                }
            }

            requests.Add(new NewPartitions(topic.Name, topic.Count, assignments));
        }

        var results = await _services.Topics.CreatePartitionsAsync(requests, request.ValidateOnly, cancellationToken).ConfigureAwait(false);
        var response = new CreatePartitionsResponse();
        foreach (var result in results)
        {
            response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = result.Name,
                ErrorCode = (short)result.Error,
                ErrorMessage = result.Message,
            });
        }

        foreach (var name in duplicates)
        {
            response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = name,
                ErrorCode = (short)ErrorCode.InvalidRequest,
                ErrorMessage = "Duplicate topic in request.",
            });
        }

        return response;
    }
}
