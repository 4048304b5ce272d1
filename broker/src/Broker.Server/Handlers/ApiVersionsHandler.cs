using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// ApiVersions (18): lists the version range of every handler the listener serves (RequestDispatcher.ForListener), so what is
/// advertised is what is served; v3+ adds supported features (metadata.version; kraft.version's supported range from v4)
/// and finalized features (the image's, plus on broker listeners the quorum's kraft.version when above 0). Thread-safe.
/// </summary>
internal sealed class ApiVersionsHandler : ApiHandler<ApiVersionsRequest, ApiVersionsResponse>
{
    public const short Key = 18;

    private readonly Func<RequestDispatcher> _dispatcher;
    private readonly Func<MetadataImage> _image;
    private readonly Func<short> _kraftVersion;

    /// <param name="kraftVersion">The quorum's kraft.version as this node's Raft log has it (0 without a Raft log).</param>
    public ApiVersionsHandler(Func<RequestDispatcher> dispatcher, Func<MetadataImage> image, Func<short> kraftVersion)
    {
        _dispatcher = dispatcher;
        _image = image;
        _kraftVersion = kraftVersion;
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
            // Kafka's controller listener answers from its features publisher (the image alone); its broker listeners from
            // the metadata cache, which adds the Raft client's kraft.version.
            AddFeatures(response, _image(), context.ListenerKind == ApiListeners.Controller ? (short)0 : _kraftVersion(), context.ApiVersion);
        }

        return ValueTask.FromResult<ApiVersionsResponse?>(response);
    }

    // Tagged fields: features this software supports (MetadataFeatures.Supported, kraft.version included: a quorum leader
    // asks a new voter for it before adding it, KIP-853, and brokers report it too, as Kafka's do), and the levels
    // finalized, with the image's offset as their epoch (Kafka's FinalizedFeaturesEpoch). v3 omits supported features
    // whose minimum is 0 (KAFKA-17011), so kraft.version only from v4. Finalized levels of 0 are never listed (Kafka's
    // ApiVersionsResponse leaves them out at every version): kraft.version, which Kafka's metadata cache adds to the
    // image's finalized features from its Raft client, appears only in a dynamic quorum (level 1); 0 is passed for a
    // controller listener.
    private static void AddFeatures(ApiVersionsResponse response, MetadataImage image, short kraftVersion, short version)
    {
        foreach (var (name, min, max) in MetadataFeatures.Supported)
        {
            if (version >= 4 || min > 0)
            {
                response.SupportedFeatures.Add(new ApiVersionsResponse.SupportedFeatureKey { Name = name, MinVersion = min, MaxVersion = max });
            }
        }

        foreach (var (name, level) in image.FinalizedFeatures)
        {
            if (level != 0 && name != MetadataFeatures.KRaftVersion)
            {
                response.FinalizedFeatures.Add(new ApiVersionsResponse.FinalizedFeatureKey { Name = name, MinVersionLevel = level, MaxVersionLevel = level });
            }
        }

        if (kraftVersion != 0)
        {
            response.FinalizedFeatures.Add(new ApiVersionsResponse.FinalizedFeatureKey
            {
                Name = MetadataFeatures.KRaftVersion, MinVersionLevel = kraftVersion, MaxVersionLevel = kraftVersion,
            });
        }

        response.FinalizedFeaturesEpoch = response.FinalizedFeatures.Count == 0 ? -1 : image.Offset;
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
