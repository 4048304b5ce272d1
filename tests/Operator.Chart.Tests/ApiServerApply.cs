using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Kube.ApiServer;

namespace Operator.Chart.Tests;

/// <summary>
/// Creates manifests in the in-process API server as <c>kubectl create --validate=strict</c> would: the resource and
/// its scope found through discovery, the JSON sent as written (not through a typed model, which would drop unknown
/// fields before the server could refuse them). Stateless; thread-safe.
/// </summary>
internal static class ApiServerApply
{
    public static async Task CreateAllAsync(KubeApiServer server, IEnumerable<JsonObject> manifests)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        foreach (var manifest in manifests)
        {
            var apiVersion = (string)manifest["apiVersion"]!;
            var kind = (string)manifest["kind"]!;
            var prefix = apiVersion.Contains('/', StringComparison.Ordinal) ? "apis/" + apiVersion : "api/" + apiVersion;
            var discovery = await http.GetFromJsonAsync<JsonObject>(new Uri(prefix, UriKind.Relative));
            var resource = discovery!["resources"]!.AsArray().Single(r => (string?)r!["kind"] == kind && !((string)r["name"]!).Contains('/', StringComparison.Ordinal))!;
            var ns = (string?)manifest["metadata"]!["namespace"];
            var namespaced = (bool)resource["namespaced"]!;
            Assert.True(namespaced == ns is not null, $"{kind} {manifest["metadata"]!["name"]}: namespaced is {namespaced} but metadata.namespace is '{ns}'");
            var path = $"{prefix}{(namespaced ? "/namespaces/" + ns : "")}/{resource["name"]}?fieldValidation=Strict";
            using var body = new StringContent(manifest.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri(path, UriKind.Relative), body);
            Assert.True(response.IsSuccessStatusCode,
                $"{kind} {manifest["metadata"]!["name"]} refused ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
        }
    }
}
