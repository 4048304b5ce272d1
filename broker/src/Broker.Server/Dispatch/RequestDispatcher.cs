namespace Broker.Server.Dispatch;

/// <summary>
/// Dense table of handlers indexed by API key. The same table answers ApiVersions, so the advertised
/// ranges are exactly the handled ones. Immutable after construction; thread-safe.
/// </summary>
internal sealed class RequestDispatcher
{
    private readonly ApiHandler?[] _table;

    public RequestDispatcher(IEnumerable<ApiHandler> handlers)
    {
        var list = new List<ApiHandler>(handlers);
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
}
