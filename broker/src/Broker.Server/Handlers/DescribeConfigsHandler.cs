using System.Globalization;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Configuration;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// DescribeConfigs (32) for topics (type 2), this broker and the cluster-wide broker defaults (type 4, name ""),
/// including dynamic configs from the metadata log, with sources, synonyms, types and documentation as asked. Thread-safe.
/// </summary>
internal sealed class DescribeConfigsHandler : ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse>
{
    private readonly BrokerServices _services;

    public DescribeConfigsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 32;

    public override short MinVersion => 1;

    public override short MaxVersion => 4;

    protected override ValueTask<DescribeConfigsResponse?> HandleAsync(RequestContext context, DescribeConfigsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new DescribeConfigsResponse.DescribeConfigsResult { ResourceType = resource.ResourceType, ResourceName = resource.ResourceName };
            response.Results.Add(result);
            var (configs, error, message) = Describe(resource);
            result.ErrorCode = (short)error;
            result.ErrorMessage = message;
            if (configs is null)
            {
                continue;
            }

            var wanted = resource.ConfigurationKeys is { } keys ? new HashSet<string>(keys, StringComparer.Ordinal) : null;
            foreach (var config in configs)
            {
                if (wanted is null || wanted.Contains(config.Name))
                {
                    result.Configs.Add(Entry(config, context.ApiVersion, request.IncludeSynonyms, request.IncludeDocumentation));
                }
            }
        }

        return ValueTask.FromResult<DescribeConfigsResponse?>(response);
    }

    private (IReadOnlyList<DescribedConfig>? Configs, ErrorCode Error, string? Message) Describe(DescribeConfigsRequest.DescribeConfigsResource resource)
    {
        var image = _services.Metadata.Image;
        switch (resource.ResourceType)
        {
            case MetadataImageBuilder.TopicResource:
                if (!image.TopicsByName.TryGetValue(resource.ResourceName, out var topic))
                {
                    return (null, ErrorCode.UnknownTopicOrPartition, $"Topic {resource.ResourceName} does not exist.");
                }

                return (ConfigDescriber.DescribeTopic(_services.Config, image.BrokerConfigsFor(string.Empty), image.BrokerConfigsFor(NodeName), topic.Configs),
                    ErrorCode.None, null);
            case MetadataImageBuilder.BrokerResource:
                if (resource.ResourceName.Length == 0)
                {
                    return (ConfigDescriber.DescribeClusterDefaults(_services.Config, image.BrokerConfigsFor(string.Empty)), ErrorCode.None, null);
                }

                if (resource.ResourceName != _services.Options.NodeId.ToString(CultureInfo.InvariantCulture))
                {
                    return (null, ErrorCode.InvalidRequest,
                        $"Unexpected broker id, expected {_services.Options.NodeId} or empty string, but received {resource.ResourceName}");
                }

                return (ConfigDescriber.DescribeBroker(_services.Config, image.BrokerConfigsFor(string.Empty), image.BrokerConfigsFor(NodeName)), ErrorCode.None, null);
            default:
                return (null, ErrorCode.InvalidRequest, $"Unsupported resource type {resource.ResourceType} for DescribeConfigs.");
        }
    }

    private string NodeName => _services.Options.NodeId.ToString(CultureInfo.InvariantCulture);

    private static DescribeConfigsResponse.DescribeConfigsResourceResult Entry(DescribedConfig config, short version, bool includeSynonyms, bool includeDocumentation)
    {
        var entry = new DescribeConfigsResponse.DescribeConfigsResourceResult
        {
            Name = config.Name,
            Value = config.Value,
            ReadOnly = config.ReadOnly,
            ConfigSource = (sbyte)config.Source,
            IsSensitive = config.IsSensitive,
            ConfigType = version >= 3 ? config.KafkaType : (sbyte)0,
            Documentation = version >= 3 && includeDocumentation ? config.Documentation : null,
        };
        if (includeSynonyms)
        {
            foreach (var synonym in config.Synonyms)
            {
                entry.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym { Name = synonym.Name, Value = synonym.Value, Source = (sbyte)synonym.Source });
            }
        }

        return entry;
    }
}
