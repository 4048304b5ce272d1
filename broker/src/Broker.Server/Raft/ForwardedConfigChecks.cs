using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Raft;

/// <summary>
/// What a broker checks of an AlterConfigs (33) or IncrementalAlterConfigs (44) before forwarding it, as Kafka's
/// ConfigAdminManager.preprocess does: a BROKER resource must be cluster-wide (empty name) or name this node, since the
/// active controller takes any broker id. Resources that fail are answered here; the rest is forwarded in a request of
/// the same version without them, and the two answers are put back together in the request's order. Stateless.
/// </summary>
internal static class ForwardedConfigChecks
{
    /// <summary>The outcome for a request some of whose resources failed the check.</summary>
    /// <param name="Errors">The failed resources' answers, by their index in the request.</param>
    /// <param name="Remaining">The request to forward without them; null when none is left.</param>
    /// <param name="Merge">Builds the client's answer from the forwarded answer (null when nothing was forwarded).</param>
    internal sealed record Outcome(IReadOnlyDictionary<int, ConfigError> Errors, IApiMessage? Remaining, Func<IApiMessage?, IApiMessage> Merge);

    /// <summary>Null when every resource passes (or the API is not a config alteration): forward the request unchanged.</summary>
    public static Outcome? Check(short apiKey, short version, ReadOnlyMemory<byte> body, int nodeId) => apiKey switch
    {
        33 => CheckAlterConfigs(Decode<AlterConfigsRequest>(body, version), nodeId),
        44 => CheckIncremental(Decode<IncrementalAlterConfigsRequest>(body, version), nodeId),
        _ => null,
    };

    private static Outcome? CheckAlterConfigs(AlterConfigsRequest request, int nodeId)
    {
        var errors = Errors(request.Resources.Select(r => (r.ResourceType, r.ResourceName)), nodeId);
        if (errors.Count == 0)
        {
            return null;
        }

        var remaining = new AlterConfigsRequest { ValidateOnly = request.ValidateOnly };
        remaining.Resources.AddRange(request.Resources.Where((_, i) => !errors.ContainsKey(i)));
        return new Outcome(errors, remaining.Resources.Count == 0 ? null : remaining, forwarded =>
        {
            var answers = (forwarded as AlterConfigsResponse)?.Responses ?? [];
            var response = new AlterConfigsResponse();
            var next = 0;
            for (var i = 0; i < request.Resources.Count; i++)
            {
                var resource = request.Resources[i];
                response.Responses.Add(errors.TryGetValue(i, out var error)
                    ? new AlterConfigsResponse.AlterConfigsResourceResponse
                    {
                        ErrorCode = (short)error.Error,
                        ErrorMessage = error.Message,
                        ResourceType = resource.ResourceType,
                        ResourceName = resource.ResourceName,
                    }
                    : next < answers.Count ? answers[next++] : Missing(resource.ResourceType, resource.ResourceName));
            }

            return response;
        });

        static AlterConfigsResponse.AlterConfigsResourceResponse Missing(sbyte type, string name) => new()
        {
            ErrorCode = (short)ErrorCode.UnknownServerError,
            ErrorMessage = "The controller's answer left this resource out.",
            ResourceType = type,
            ResourceName = name,
        };
    }

    private static Outcome? CheckIncremental(IncrementalAlterConfigsRequest request, int nodeId)
    {
        var errors = Errors(request.Resources.Select(r => (r.ResourceType, r.ResourceName)), nodeId);
        if (errors.Count == 0)
        {
            return null;
        }

        var remaining = new IncrementalAlterConfigsRequest { ValidateOnly = request.ValidateOnly };
        remaining.Resources.AddRange(request.Resources.Where((_, i) => !errors.ContainsKey(i)));
        return new Outcome(errors, remaining.Resources.Count == 0 ? null : remaining, forwarded =>
        {
            var answers = (forwarded as IncrementalAlterConfigsResponse)?.Responses ?? [];
            var response = new IncrementalAlterConfigsResponse();
            var next = 0;
            for (var i = 0; i < request.Resources.Count; i++)
            {
                var resource = request.Resources[i];
                response.Responses.Add(errors.TryGetValue(i, out var error)
                    ? new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
                    {
                        ErrorCode = (short)error.Error,
                        ErrorMessage = error.Message,
                        ResourceType = resource.ResourceType,
                        ResourceName = resource.ResourceName,
                    }
                    : next < answers.Count ? answers[next++] : Missing(resource.ResourceType, resource.ResourceName));
            }

            return response;
        });

        static IncrementalAlterConfigsResponse.AlterConfigsResourceResponse Missing(sbyte type, string name) => new()
        {
            ErrorCode = (short)ErrorCode.UnknownServerError,
            ErrorMessage = "The controller's answer left this resource out.",
            ResourceType = type,
            ResourceName = name,
        };
    }

    /// <summary>The request's bytes (without header) at <paramref name="version"/>.</summary>
    public static byte[] Encode(IApiMessage request, short version)
    {
        using var writer = new KafkaWriter(256);
        request.Write(writer, version);
        return writer.WrittenSpan.ToArray();
    }

    private static Dictionary<int, ConfigError> Errors(IEnumerable<(sbyte Type, string Name)> resources, int nodeId)
    {
        var errors = new Dictionary<int, ConfigError>();
        var index = 0;
        foreach (var (type, name) in resources)
        {
            if (type == MetadataImageBuilder.BrokerResource && ConfigController.CheckBrokerResourceNamesNode(name, nodeId) is { } error)
            {
                errors[index] = error;
            }

            index++;
        }

        return errors;
    }

    private static T Decode<T>(ReadOnlyMemory<byte> body, short version)
        where T : IApiMessage, new()
    {
        var request = new T();
        var reader = new KafkaReader(body);
        request.Read(ref reader, version);
        return request;
    }
}
