using Broker.Protocol.Messages;

namespace Broker.Server.Dispatch;

/// <summary>
/// Dense table of handlers indexed by API key. The same table answers ApiVersions, so the advertised
/// ranges are exactly the handled ones. <see cref="ForListener"/> gives the view one kind of listener serves: as in
/// Kafka, a controller listener serves only the APIs whose schema lists "controller" (no Produce, no Metadata) and a
/// broker listener only those listing "broker" (no Vote, no Envelope). Immutable after construction; thread-safe.
/// </summary>
internal sealed class RequestDispatcher
{
    private readonly ApiHandler?[] _table;

    private readonly RequestDispatcher? _brokerView;
    private readonly RequestDispatcher? _controllerView;

    public RequestDispatcher(IEnumerable<ApiHandler> handlers)
        : this(handlers, ApiListeners.None)
    {
        _brokerView = new RequestDispatcher(Handlers, ApiListeners.Broker);
        _controllerView = new RequestDispatcher(Handlers, ApiListeners.Controller);
    }

    private RequestDispatcher(IEnumerable<ApiHandler> handlers, ApiListeners only)
    {
        var list = new List<ApiHandler>(handlers);
        if (only != ApiListeners.None)
        {
            list.RemoveAll(h => !ApiMessageTypes.TryGet(h.ApiKey, out var type) || (type.Listeners & only) == 0);
        }

        var max = 0;
        foreach (var handler in list)
        {
            max = Math.Max(max, handler.ApiKey);
        }

        _table = new ApiHandler?[max + 1];
        foreach (var handler in list)
        {
            if (_table[handler.ApiKey] is not null)
            {
                throw new InvalidOperationException($"Two handlers for API key {handler.ApiKey}.");
            }

            _table[handler.ApiKey] = handler;
        }

        list.Sort(static (a, b) => a.ApiKey.CompareTo(b.ApiKey));
        Handlers = list;
    }

    /// <summary>Handlers in API key order.</summary>
    public IReadOnlyList<ApiHandler> Handlers { get; }

    public ApiHandler? Find(short apiKey) => (uint)apiKey < (uint)_table.Length ? _table[apiKey] : null;

    /// <summary>The handlers a listener of <paramref name="kind"/> (<see cref="ApiListeners.Broker"/> or
    /// <see cref="ApiListeners.Controller"/>) serves.</summary>
    public RequestDispatcher ForListener(ApiListeners kind) => kind switch
    {
        ApiListeners.Broker => _brokerView ?? throw new InvalidOperationException("Already a listener's view."),
        ApiListeners.Controller => _controllerView ?? throw new InvalidOperationException("Already a listener's view."),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Broker or Controller."),
    };
}
