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
    private static readonly ConfigError MissingAnswer = new(ErrorCode.UnknownServerError, "The controller's answer left this resource out.");

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
        return new Outcome(errors, remaining.Resources.Count == 0 ? null : remaining, forwarded => new AlterConfigsResponse
        {
            Responses = Reassemble(request.Resources, errors, (forwarded as AlterConfigsResponse)?.Responses ?? [], static (resource, error) =>
                new AlterConfigsResponse.AlterConfigsResourceResponse
                {
                    ErrorCode = (short)error.Error,
                    ErrorMessage = error.Message,
                    ResourceType = resource.ResourceType,
                    ResourceName = resource.ResourceName,
                }),
        });
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
        return new Outcome(errors, remaining.Resources.Count == 0 ? null : remaining, forwarded => new IncrementalAlterConfigsResponse
        {
            Responses = Reassemble(request.Resources, errors, (forwarded as IncrementalAlterConfigsResponse)?.Responses ?? [], static (resource, error) =>
                new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
                {
                    ErrorCode = (short)error.Error,
                    ErrorMessage = error.Message,
                    ResourceType = resource.ResourceType,
                    ResourceName = resource.ResourceName,
                }),
        });
    }

    /// <summary>
    /// Kafka's reassembleIncrementalResponse: one answer per requested resource in request order, the refused ones from
    /// <paramref name="errors"/>, the others in turn from the forwarded answer (an answer missing there is an error).
    /// </summary>
    private static List<TAnswer> Reassemble<TResource, TAnswer>(
        List<TResource> resources, Dictionary<int, ConfigError> errors, List<TAnswer> forwarded, Func<TResource, ConfigError, TAnswer> answer)
    {
        var merged = new List<TAnswer>(resources.Count);
        var next = 0;
        for (var i = 0; i < resources.Count; i++)
        {
            merged.Add(errors.TryGetValue(i, out var error) ? answer(resources[i], error)
                : next < forwarded.Count ? forwarded[next++] : answer(resources[i], MissingAnswer));
        }

        return merged;
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
