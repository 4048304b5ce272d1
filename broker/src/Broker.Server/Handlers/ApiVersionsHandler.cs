using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// ApiVersions (18): lists the version range of every handler the listener serves (RequestDispatcher.ForListener), so what is
/// advertised is what is served; v3+ adds supported and finalized features (metadata.version; kraft.version's supported
/// range from v4). Thread-safe.
/// </summary>
internal sealed class ApiVersionsHandler : ApiHandler<ApiVersionsRequest, ApiVersionsResponse>
{
    public const short Key = 18;

    private readonly Func<RequestDispatcher> _dispatcher;
    private readonly Func<MetadataImage> _image;

    public ApiVersionsHandler(Func<RequestDispatcher> dispatcher, Func<MetadataImage> image)
    {
        _dispatcher = dispatcher;
        _image = image;
    }

    public override short ApiKey => Key;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override ValueTask<ApiVersionsResponse?> HandleAsync(RequestContext context, ApiVersionsRequest request, CancellationToken cancellationToken)
    {
        var response = new ApiVersionsResponse();
        if (context.ApiVersion >= 3 && (!IsValidSoftwareToken(request.ClientSoftwareName) || !IsValidSoftwareToken(request.ClientSoftwareVersion)))
        {
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
            return ValueTask.FromResult<ApiVersionsResponse?>(response);
        }

        foreach (var handler in _dispatcher().ForListener(context.ListenerKind).Handlers)
        {
            response.ApiKeys.Add(Entry(handler));
        }

        if (context.ApiVersion >= 3)
        {
            AddFeatures(response, _image(), context.ApiVersion);
        }

        return ValueTask.FromResult<ApiVersionsResponse?>(response);
    }

    /// <summary>What SupportedFeatures lists: the metadata features, and kraft.version, which a quorum leader asks a new
    /// voter for before adding it (KIP-853) and which brokers report too, as Kafka's do.</summary>
    private static readonly (string Name, short Min, short Max)[] SupportedFeatures =
    [
        .. MetadataFeatures.Supported,
        (MetadataFeatures.KRaftVersion, RaftVoter.SupportedMinKRaftVersion, RaftVoter.SupportedMaxKRaftVersion),
    ];

    // Tagged fields: features this software supports, and the levels finalized in the metadata log with the image's
    // offset as their epoch (Kafka's FinalizedFeaturesEpoch). v3 omits features whose minimum is 0 (KAFKA-17011), so
    // kraft.version only from v4.
    private static void AddFeatures(ApiVersionsResponse response, MetadataImage image, short version)
    {
        foreach (var (name, min, max) in SupportedFeatures)
        {
            if (version >= 4 || min > 0)
            {
                response.SupportedFeatures.Add(new ApiVersionsResponse.SupportedFeatureKey { Name = name, MinVersion = min, MaxVersion = max });
            }
        }

        response.FinalizedFeaturesEpoch = image.FinalizedFeatures.IsEmpty ? -1 : image.Offset;
        foreach (var (name, level) in image.FinalizedFeatures)
        {
            response.FinalizedFeatures.Add(new ApiVersionsResponse.FinalizedFeatureKey { Name = name, MinVersionLevel = level, MaxVersionLevel = level });
        }
    }

    /// <summary>The v0 body Kafka sends for a too-new ApiVersions request: the error and only its own range.</summary>
    public static ApiVersionsResponse UnsupportedVersionResponse(ApiHandler self)
    {
        var response = new ApiVersionsResponse { ErrorCode = (short)ErrorCode.UnsupportedVersion };
        response.ApiKeys.Add(Entry(self));
        return response;
    }

    private static ApiVersionsResponse.ApiVersion Entry(ApiHandler handler) => new()
    {
        ApiKey = handler.ApiKey,
        MinVersion = handler.MinVersion,
        MaxVersion = handler.MaxVersion,
    };

    // KIP-511: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
    internal static bool IsValidSoftwareToken(string value)
    {
        if (value.Length == 0 || !char.IsAsciiLetterOrDigit(value[0]) || !char.IsAsciiLetterOrDigit(value[^1]))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '.')
            {
                return false;
            }
        }

        return true;
    }
}
