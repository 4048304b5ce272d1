using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Kube.ApiServer.Tests;

/// <summary>Plain HTTP calls for checking wire-level details (Status bodies, headers). Not thread-safe.</summary>
internal sealed class Raw : IDisposable
{
    private readonly HttpClient _http;

    public Raw(KubeApiServer server) => _http = new HttpClient { BaseAddress = server.BaseUri, Timeout = TimeSpan.FromSeconds(20) };

    public Task<(int Code, JsonObject Body)> GetAsync(string path, string? accept = null) => SendAsync(HttpMethod.Get, path, null, null, accept);

    public Task<(int Code, JsonObject Body)> PostAsync(string path, string body, string contentType = "application/json") =>
        SendAsync(HttpMethod.Post, path, body, contentType, null);

    /// <summary>POST returning the Warning headers too (fieldValidation=Warn).</summary>
    public async Task<(int Code, JsonObject Body, string[] Warnings)> PostWithWarningsAsync(string path, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var warnings = response.Headers.TryGetValues("Warning", out var values) ? values.ToArray() : [];
        return ((int)response.StatusCode, (JsonObject)JsonNode.Parse(text)!, warnings);
    }

    public Task<(int Code, JsonObject Body)> PutAsync(string path, string body) => SendAsync(HttpMethod.Put, path, body, "application/json", null);

    public Task<(int Code, JsonObject Body)> PatchAsync(string path, string body, string contentType) => SendAsync(HttpMethod.Patch, path, body, contentType, null);

    public Task<(int Code, JsonObject Body)> DeleteAsync(string path, string? body = null) => SendAsync(HttpMethod.Delete, path, body, "application/json", null);

    /// <summary>Creates from YAML and fails the test unless the server answers 201.</summary>
    public async Task<JsonObject> CreateYamlAsync(string path, string yaml)
    {
        var (code, body) = await PostAsync(path, yaml, "application/yaml");
        Assert.True(code == 201, $"POST {path} answered {code}: {body.ToJsonString()}");
        return body;
    }

    public async Task<HttpResponseMessage> StreamAsync(string path, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    private async Task<(int Code, JsonObject Body)> SendAsync(HttpMethod method, string path, string? body, string? contentType, string? accept)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType!);
        }
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, (JsonObject)JsonNode.Parse(text)!);
    }

    public void Dispose() => _http.Dispose();
}
